"""The whole system: REST transition → outbox → relay → Redis → notifier worker → one notification,
one e-mail (SMTP sink on loopback) and one signed webhook (receiver on loopback, verified with the
Standard Webhooks reference library) per handled event."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import SECRET, notifier_rows, notifier_worker_env
from tests.fakes import SmtpSink, WebhookReceiver
from tests.projects.conftest import client_for
from tests.projects.factories import UserFactory
from tests.support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_rest_transition_becomes_one_notification_email_and_webhook(processes, redis_url, notifier_db):
    sink, receiver = SmtpSink(), WebhookReceiver()
    try:
        processes.relay()
        processes.worker("notifications.worker", **notifier_worker_env(notifier_db, sink.port))
        processes.notifier_deliverer(**notifier_worker_env(notifier_db, sink.port))
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
