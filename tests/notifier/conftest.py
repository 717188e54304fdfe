"""Notifier tests run in their own pytest process with notifier settings (see the Makefile)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from codegen_contracts import Envelope


def generation_payload(**changes: Any) -> dict[str, Any]:
    return {
        "project_id": 4,
        "project_name": "shop",
        "owner_id": 9,
        "notification_email": "team@example.com",
        "webhook_url": None,
        "generated_project_id": 12,
        "from_status": "generating",
        "to_status": "completed",
        "total_files": 3,
        "total_size": 4096,
        **changes,
    }


def envelope(
    event_type: str = "generation.completed", payload: dict[str, Any] | None = None, **changes: Any
) -> Envelope:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
        "aggregate_type": "generated_project",
        "aggregate_id": "12",
        "sequence": 3,
        "correlation_id": "req-1",
        "payload": generation_payload() if payload is None else payload,
    }
    return Envelope(**{**values, **changes})


class WebhookReceiver:
    """A webhook receiver on loopback answering with scripted statuses (or never, for 'hang')."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int | str] = []
        self.default: int | str = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "hang":
                    receiver.release.wait(30)
                    return
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/codegen"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


class SmtpSink:
    """An SMTP server on loopback (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                sink.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        from devinfra.ports import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    yield sink
    sink.close()


@pytest.fixture
def fast_sends(settings: Any) -> None:
    settings.NOTIFIER = {**settings.NOTIFIER, "SEND_ATTEMPTS": 3, "SEND_MAX_WAIT": 0.1, "WEBHOOK_TIMEOUT": 1.0}


@pytest.fixture
def notifier_redis(redis_server: Any) -> Iterator[str]:
    """The session Redis, emptied."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


@pytest.fixture
def workers(transactional_db: Any, notifier_redis: str, tmp_path: Any, smtp_sink: SmtpSink) -> Iterator[Any]:
    """Starts `dramatiq notifications.worker` processes on the test database; stops them after."""
    import os

    from django.db import connection

    from tests.support import REPO, Processes

    s = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test",
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        "REDIS_URL": notifier_redis,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")]),
        "PYTHONUNBUFFERED": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "WEBHOOK_TIMEOUT": "1",
        "EMAIL_TIMEOUT": "2",
        "NOTIFIER_SEND_ATTEMPTS": "3",
        "NOTIFIER_SEND_MAX_WAIT": "0.1",
        "NOTIFIER_MESSAGE_MIN_BACKOFF_MS": "100",
        "NOTIFIER_MESSAGE_MAX_RETRIES": "2",
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop_all()


def enqueue(redis_url: str, data: Any, message_id: str) -> None:
    """Put a standard Dramatiq message for the events actor on the queue, as the relay does."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE

    broker = RedisBroker(url=redis_url)
    broker.declare_queue(EVENTS_QUEUE)
    broker.enqueue(
        dramatiq.Message(
            queue_name=EVENTS_QUEUE, actor_name=EVENTS_ACTOR, args=(data,), kwargs={}, options={}, message_id=message_id
        )
    )
    broker.close()
