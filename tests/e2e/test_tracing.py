"""One trace per event across the real processes, and log lines that join it.

A REST transition sent with a client's ``traceparent`` to the projects API (gunicorn), published by
a relay and taken in by a notifier worker (Dramatiq, two processes) that calls a webhook receiver
on loopback: every process exports its spans over OTLP/HTTP to a receiver in the test, and the
spans of the transition's event form one trace, each the child of the one before it, down to the
webhook's ``traceparent``. The processes' JSON log lines about that event carry its ids.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from devinfra.otlp import OtlpSink
from devinfra.ports import free_port
from devinfra.processes import http_ok
from tests.e2e.conftest import notifier_rows, notifier_worker_env
from tests.fakes import SmtpSink, WebhookReceiver
from tests.projects.factories import UserFactory
from tests.support import BIN, NOTIFIER_MANAGE, REPO, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def json_lines(path: Path) -> list[dict]:
    """The JSON log lines of a process's output (other output, such as gunicorn's own, skipped)."""
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every line that looks like one must be one
    return lines


def gunicorn(service: str, port: int) -> list[str]:
    """The command that serves ``service``'s API on loopback ``port`` as production does."""
    return [str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"), "--chdir", f"services/{service}",
            "--bind", f"127.0.0.1:{port}", f"{service}_service.wsgi"]  # fmt: skip


def start_traced(processes, sink: OtlpSink, notifier_db: str, smtp_port: int) -> dict:
    """The API (gunicorn), a relay, a notifier worker (two processes) and a delivery worker, each tracing into
    ``sink`` and logging JSON at DEBUG; by name, once the API answers."""
    port = free_port()
    logs = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    started = {
        "api": processes.start(
            gunicorn("projects", port),
            WEB_CONCURRENCY="1", DJANGO_ALLOWED_HOSTS="127.0.0.1", **logs, **sink.exporter_env("projects-api"),
        ),
        "relay": processes.relay(**logs, **sink.exporter_env("outbox-relay")),
        "worker": processes.notifier_worker(
            processes=2, **notifier_worker_env(notifier_db, smtp_port), **logs, **sink.exporter_env("notifier-worker"),
        ),
        "deliveries": processes.notifier_deliverer(
            **notifier_worker_env(notifier_db, smtp_port), **logs, **sink.exporter_env("notifier-deliveries"),
        ),
    }  # fmt: skip
    wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="the API up")
    started["base"] = f"http://127.0.0.1:{port}/api/v1"
    return started


def assert_logged_with_ids(started: dict, event_id: str, correlation_id: str, trace_id: str) -> None:
    """Each process logged a line about the event with its ids, and wrote nothing but JSON lines."""

    def about_event(process) -> list[dict]:
        return [line for line in json_lines(Path(process.log_path)) if line.get("event_id") == event_id]

    expected = [("api", "outbox row written"), ("relay", "outbox row published"),
                ("worker", "event taken in"), ("deliveries", "delivery settled")]  # fmt: skip
    wait_for(
        lambda: all(
            any(line["message"] == message for line in about_event(started[name])) for name, message in expected
        ),
        timeout=15,
        what="a log line about the event from each process",
    )
    for name, message in expected:
        (line,) = [line for line in about_event(started[name]) if line["message"] == message]
        assert (line["correlation_id"], line["trace_id"]) == (correlation_id, trace_id), line
    # gunicorn's own lines and its access log included, and the Dramatiq supervisor's (notifier-worker)
    for name in ("api", "relay", "worker", "deliveries"):
        for text in Path(started[name].log_path).read_text().splitlines():
            assert text.startswith("{"), (name, text)


def test_one_rest_transition_is_one_trace_from_the_request_to_the_webhook(processes, redis_url, notifier_db):
    sink, smtp, receiver = OtlpSink(), SmtpSink(), WebhookReceiver()
    try:
        started = start_traced(processes, sink, notifier_db, smtp.port)
        base = started["base"]
        headers = {"Authorization": f"Token {Token.objects.create(user=UserFactory()).key}"}
        project = requests.post(f"{base}/projects/", json={"name": "shop", "webhook_url": receiver.url},
                                headers=headers, timeout=10).json()  # fmt: skip
        generated = requests.post(f"{base}/generated-projects/", json={"project": project["id"]},
                                  headers=headers, timeout=10).json()  # fmt: skip
        url = f"{base}/generated-projects/{generated['id']}/"
        assert requests.patch(url, json={"status": "generating"}, headers=headers, timeout=10).status_code == 200
        # in effect (recorded as ignored: it has no handler) before the traced transition is sent, not just
        # received (it may have waited for the event before it), so that the traced event takes effect on arrival
        wait_for(
            lambda: notifier_rows(
                notifier_db,
                "SELECT 1 FROM notifier_inbox WHERE event_type = 'generation.running' AND status <> 'waiting'",
            ),
            timeout=60,
            what="generation.running in effect",
        )

        # When: a client that traces sends the transition
        trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
        correlation_id = f"trace-test-{uuid.uuid4().hex[:8]}"
        response = requests.patch(
            url, json={"status": "completed"}, timeout=10,
            headers={**headers, "traceparent": f"00-{trace_id}-{client_span}-01", "X-Correlation-ID": correlation_id},
        )  # fmt: skip
        assert response.status_code == 200, response.text

        # Then: the webhook carries the trace on
        (hook,) = wait_for(
            lambda: [r for r in receiver.requests if json.loads(r["body"])["type"] == "generation.completed"],
            timeout=60,
            what="the generation.completed webhook",
        )
        _, hook_trace, hook_parent, flags = hook["headers"]["traceparent"].split("-")
        assert (hook_trace, flags) == (trace_id, "01")

        # and every process's spans of it form one trace, each the child of the one before
        names = ["PATCH", "outbox write", "codegen-events publish", "codegen-events process", "deliver webhook"]

        def whole_trace():
            spans = sink.trace(trace_id)
            found = {name: [s for s in spans if s.name.startswith(name)] for name in names}
            return found if all(found.values()) else None

        found = wait_for(whole_trace, timeout=30, what="every span of the trace exported")
        assert all(len(spans) == 1 for spans in found.values()), {n: len(s) for n, s in found.items()}
        request, write, publish, process, deliver = (found[name][0] for name in names)
        assert request.service == write.service == "projects-api"
        assert (request.kind, request.parent_span_id) == ("server", client_span)
        assert (write.parent_span_id, write.attributes["event.type"]) == (request.span_id, "generation.completed")
        assert (publish.service, publish.kind, publish.parent_span_id) == ("outbox-relay", "producer", write.span_id)
        event_id = publish.attributes["messaging.message.id"]
        assert write.attributes["event.id"] == event_id == json.loads(hook["body"])["data"]["event_id"]
        assert (process.service, process.kind, process.parent_span_id) == (
            "notifier-worker",
            "consumer",
            publish.span_id,
        )
        assert process.attributes["notifier.intake"] == "processed"
        assert (deliver.service, deliver.kind, deliver.parent_span_id) == (
            "notifier-deliveries", "client", publish.span_id,
        )  # fmt: skip
        assert hook_parent == deliver.span_id
        assert not any(s.error for s in sink.trace(trace_id))
        stored = notifier_rows(notifier_db, f"SELECT traceparent FROM notifier_inbox WHERE event_id = '{event_id}'")
        assert stored == [(f"00-{trace_id}-{publish.span_id}-01",)]

        # and the log lines about the event, in each process, carry its ids
        assert_logged_with_ids(started, event_id, correlation_id, trace_id)
    finally:
        sink.close()
        smtp.close()
        receiver.close()


def test_the_notifier_api_continues_a_clients_trace(processes, notifier_db):
    # given the notifier API under gunicorn, tracing, and a staff account's token on its own database
    sink = OtlpSink()
    env = {key: value for key, value in notifier_worker_env(notifier_db, smtp_port=1).items() if "EMAIL" not in key}
    manage = [sys.executable, str(NOTIFIER_MANAGE)]
    subprocess.run([*manage, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com"],
                   env={**os.environ, **env, "DJANGO_SUPERUSER_PASSWORD": secrets.token_hex(8)},
                   check=True, timeout=120)  # fmt: skip
    made = subprocess.run([*manage, "drf_create_token", "ops"], env={**os.environ, **env}, check=True, timeout=120,
                          capture_output=True, text=True)  # fmt: skip
    token = made.stdout.split()[2]  # "Generated token <key> for user ops"
    port = free_port()
    try:
        api = processes.start(
            gunicorn("notifier", port),
            WEB_CONCURRENCY="1", DJANGO_ALLOWED_HOSTS="127.0.0.1", LOG_FORMAT="json", **env,
            **sink.exporter_env("notifier-api"),
        )  # fmt: skip
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="the notifier API up")

        # when a client that traces asks for the open gaps
        trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
        correlation_id = f"trace-test-{uuid.uuid4().hex[:8]}"
        response = requests.get(
            f"http://127.0.0.1:{port}/api/v1/gaps/", timeout=10,
            headers={"Authorization": f"Token {token}", "traceparent": f"00-{trace_id}-{client_span}-01",
                     "X-Correlation-ID": correlation_id},
        )  # fmt: skip
        assert response.status_code == 200, response.text

        # then the request's span is the child of the client's, exported by the notifier API
        (span,) = wait_for(lambda: sink.trace(trace_id), timeout=30, what="the request's span exported")
        assert (span.service, span.kind, span.parent_span_id) == ("notifier-api", "server", client_span)
        assert span.name.startswith("GET") and not span.error
        # and its access log line carries the correlation id; the health probe made no span
        access = wait_for(
            lambda: [line for line in json_lines(Path(api.log_path)) if line.get("correlation_id") == correlation_id],
            timeout=15,
            what="the request's access log line",
        )
        assert [(line["path"], line["status"]) for line in access] == [("/api/v1/gaps/", 200)], access
        assert not [s for s in sink.spans if s.service == "notifier-api" and s.trace_id != trace_id]
    finally:
        sink.close()
