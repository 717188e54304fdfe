"""The whole system: REST transition → outbox → relay → Redis → notifier worker → one notification,
one e-mail (SMTP sink on loopback) and one signed webhook (receiver on loopback, verified with the
Standard Webhooks reference library) per handled event."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from tests.fakes import SmtpSink, WebhookReceiver
from tests.projects.conftest import client_for
from tests.projects.factories import UserFactory
from tests.support import NOTIFIER_MANAGE, REPO, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def notifier_db(postgres_server) -> str:
    url = postgres_server.create_database(f"notifier_{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test", "DATABASE_URL": url,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")])}  # fmt: skip
    subprocess.run([sys.executable, str(NOTIFIER_MANAGE), "migrate", "-v0"], env=env, check=True, timeout=120)
    return url


def notifier_rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_rest_transition_becomes_one_notification_email_and_webhook(processes, redis_url, notifier_db):
    sink, receiver = SmtpSink(), WebhookReceiver()
    try:
        processes.relay()
        processes.worker(
            "notifications.worker",
            DJANGO_SETTINGS_MODULE="notifier_service.settings.test",
            DATABASE_URL=notifier_db,
            PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")]),
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(sink.port),
            WEBHOOK_SECRET=SECRET,
        )
        api = client_for(UserFactory())
        project = api.post(
            "/api/v1/projects/",
            {"name": "shop", "notification_email": "team@example.com", "webhook_url": receiver.url},
            format="json",
        ).json()
        gp = api.post("/api/v1/generated-projects/", {"project": project["id"]}, format="json").json()["id"]
        for status in ["generating", "completed"]:
            assert api.patch(f"/api/v1/generated-projects/{gp}/", {"status": status}, format="json").status_code == 200

        handled = ["generation.started", "generation.completed"]
        wait_for(
            lambda: len(notifier_rows(notifier_db, "SELECT id FROM notifier_delivery WHERE status = 'delivered'")) == 4,
            timeout=60,
            what="two e-mails and two webhooks delivered",
        )
        notifications = notifier_rows(
            notifier_db, "SELECT event_type, project_id, recipient FROM notifier_notification"
        )
        assert sorted(n[0] for n in notifications) == sorted(handled)
        assert {(n[1], n[2]) for n in notifications} == {(project["id"], f"user:{project['owner']}")}
        inbox = dict(notifier_rows(notifier_db, "SELECT event_type, status FROM notifier_inbox"))
        assert inbox == {"generation.started": "processed", "generation.running": "ignored",
                         "generation.completed": "processed"}  # fmt: skip
        assert sorted(m["Subject"] for m in sink.messages) == [
            "Generation completed for shop",
            "Generation started for shop",
        ]
        verified = [
            Webhook(SECRET).verify(r["body"], {k.lower(): v for k, v in r["headers"].items()})
            for r in receiver.requests
        ]
        assert sorted(v["type"] for v in verified) == sorted(handled)
        assert {r["headers"]["webhook-id"] for r in receiver.requests} == {v["data"]["event_id"] for v in verified}
    finally:
        sink.close()
        receiver.close()
