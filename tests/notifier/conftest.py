"""Notifier tests run in their own pytest process with notifier settings (see the Makefile)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from codegen_contracts import Envelope
from tests.fakes import SmtpSink, WebhookReceiver


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
        "aggregate_id": uuid.uuid4().hex,  # each a new aggregate's first event: in order, unless a test says
        "sequence": 1,
        "correlation_id": "req-1",
        "payload": generation_payload() if payload is None else payload,
    }
    return Envelope(**{**values, **changes})


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()
    from notifications.delivery.connections import receiver_pools_close

    receiver_pools_close()  # connections kept to it, which its close severed


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
    """A short retry schedule (three attempts, a tenth of a second apart) and a one-second webhook timeout."""
    settings.NOTIFIER = {**settings.NOTIFIER, "RETRY_SCHEDULE": (0.1, 0.1), "WEBHOOK_TIMEOUT": 1.0}


@pytest.fixture
def notifier_redis(redis_server: Any) -> Iterator[str]:
    """The session Redis, emptied."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


def notifier_database_url() -> str:
    """URL of this test's notifier database, for processes (rows must be committed to be seen)."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def worker_env(database_url: str, redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    """The environment of a notifier process on these servers, e-mail going to the SMTP sink."""
    import os

    from tests.support import REPO

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")]),
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash of a worker process prints every thread's stack
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        **extra,
    }


@pytest.fixture
def workers(transactional_db: Any, notifier_redis: str, tmp_path: Any, smtp_sink: SmtpSink) -> Iterator[Any]:
    """Starts notifier processes (workers, delivery workers) on the test database; stops them after."""
    from tests.support import Processes

    env = worker_env(
        notifier_database_url(),
        notifier_redis,
        smtp_sink.port,
        WEBHOOK_TIMEOUT="1",
        EMAIL_TIMEOUT="2",
        NOTIFIER_WEBHOOK_RETRY_SCHEDULE="0.2s,0.2s",
        NOTIFIER_DELIVERY_POLL="0.2s",
        NOTIFIER_MESSAGE_MIN_BACKOFF_MS="100",
        NOTIFIER_MESSAGE_MAX_RETRIES="2",
    )
    running = Processes(env, tmp_path)
    yield running
    running.stop_all()


def events_message(data: Any, message_id: str, **options: Any) -> Any:
    """A standard Dramatiq message for the events actor, as the relay sends it."""
    import dramatiq

    from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE

    return dramatiq.Message(
        queue_name=EVENTS_QUEUE,
        actor_name=EVENTS_ACTOR,
        args=(data,),
        kwargs={},
        options=options,
        message_id=message_id,
    )


def enqueue(redis_url: str, data: Any, message_id: str) -> None:
    """Put a standard Dramatiq message for the events actor on the queue, as the relay does."""
    from dramatiq.brokers.redis import RedisBroker

    from codegen_contracts import EVENTS_QUEUE

    broker = RedisBroker(url=redis_url)
    broker.declare_queue(EVENTS_QUEUE)
    broker.enqueue(events_message(data, message_id))
    broker.close()
