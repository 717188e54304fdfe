"""The whole system: REST transition → outbox → relay → Redis → notifier worker → one notification,
one e-mail (SMTP sink on loopback) and one signed webhook (receiver on loopback, verified with the
Standard Webhooks reference library) per handled event."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import notifier_rows, notifier_worker_env
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
        secret = api.get(f"/api/v1/projects/{project['id']}/webhook-secret/").json()["secret"]  # as the owner reads it
        verified = [
            Webhook(secret).verify(r["body"], {k.lower(): v for k, v in r["headers"].items()})
            for r in receiver.requests
        ]
        assert sorted(v["type"] for v in verified) == sorted(handled)
        assert {r["headers"]["webhook-id"] for r in receiver.requests} == {v["data"]["event_id"] for v in verified}
    finally:
        sink.close()
        receiver.close()


def test_a_rotated_secret_and_the_previous_one_both_verify_webhooks_during_the_grace(processes, redis_url, notifier_db):
    """Guarantee 11 through every process: the owner rotates through the projects API, the notifier learns it
    from the event, and a webhook sent after it verifies with either secret the owner held."""
    receiver = WebhookReceiver()
    try:
        processes.relay()
        processes.worker("notifications.worker", **notifier_worker_env(notifier_db, 0))
        processes.notifier_deliverer(**notifier_worker_env(notifier_db, 0))
        api = client_for(UserFactory())
        project = api.post("/api/v1/projects/", {"name": "shop", "webhook_url": receiver.url}, format="json").json()
        old = api.get(f"/api/v1/projects/{project['id']}/webhook-secret/").json()["secret"]
        rotated = api.post(f"/api/v1/projects/{project['id']}/webhook-secret/rotate/").json()
        assert rotated["version"] == 2 and rotated["secret"] != old and rotated["previous_valid_until"]
        wait_for(
            lambda: notifier_rows(notifier_db, "SELECT 1 FROM notifier_notification WHERE event_type = "
                                               "'project.webhook_secret_rotated'"),
            timeout=60, what="the rotation taken in",
        )  # fmt: skip
        api.post("/api/v1/generated-projects/", {"project": project["id"]}, format="json")
        (request,) = wait_for(lambda: receiver.requests, timeout=60, what="the webhook")
        headers = {k.lower(): v for k, v in request["headers"].items()}
        for secret in (old, rotated["secret"]):
            assert Webhook(secret).verify(request["body"], headers)["type"] == "generation.started"
        other = client_for(UserFactory()).post("/api/v1/projects/", {"name": "other"}, format="json").json()
        assert other["id"] != project["id"]
        foreign = client_for(UserFactory()).get(f"/api/v1/projects/{project['id']}/webhook-secret/")
        assert foreign.status_code == 404
    finally:
        receiver.close()
