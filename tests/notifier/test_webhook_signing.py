"""Webhooks signed with their project's own key, both keys during a rotation, verified with the Standard Webhooks
reference library (guarantee 11)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from codegen_config.signing import DEV_MASTER_KEY
from codegen_contracts.signing import project_signing_key, secret_text
from notifications.delivery import signing
from notifications.delivery.runner import deliveries_send_due
from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, Notification
from tests.notifier.conftest import envelope, generation_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_versions_read_every_time(monkeypatch):
    """Each test sees rotations at once (a process keeps a key version for KEY_VERSION_TTL seconds)."""
    monkeypatch.setattr(signing, "KEY_VERSION_TTL", 0.0)
    monkeypatch.setattr(signing, "_known", {})  # nothing another test's process-wide cache kept


def project_secret(project_id: int, version: int) -> str:
    """The secret the projects API shows the project's owner (the same derivation, the same master key)."""
    return secret_text(project_signing_key(DEV_MASTER_KEY.encode(), project_id=project_id, version=version))


def rotated(project_id: int, version: int, previous_valid_until: datetime) -> None:
    """Take in the event the projects service emits when the owner rotates the secret."""
    payload = {
        "project_id": project_id, "project_name": "shop", "owner_id": 9, "notification_email": "team@example.com",
        "webhook_url": "http://unused.example/", "webhook_key_version": version,
        "rotated_at": datetime(2026, 12, 5, tzinfo=UTC).isoformat(),
        "previous_valid_until": previous_valid_until.isoformat(),
    }  # fmt: skip
    inbox_take(envelope("project.webhook_secret_rotated", payload, aggregate_type="project",
                        aggregate_id=str(project_id), sequence=version - 1))  # fmt: skip


def sent_webhook(receiver, project_id: int) -> dict:
    inbox_take(
        envelope(payload=generation_payload(project_id=project_id, notification_email=None, webhook_url=receiver.url))
    )
    deliveries_send_due()
    request = receiver.requests[-1]
    return {"body": request["body"], "headers": {k.lower(): v for k, v in request["headers"].items()}}


def verifies(secret: str, request: dict) -> bool:
    try:
        Webhook(secret).verify(request["body"], request["headers"])
    except WebhookVerificationError:
        return False
    return True


def test_each_project_signs_with_its_own_secret(receiver, fast_sends):
    four, five = sent_webhook(receiver, 4), sent_webhook(receiver, 5)
    assert verifies(project_secret(4, 1), four) and verifies(project_secret(5, 1), five)
    assert not verifies(project_secret(5, 1), four) and not verifies(project_secret(4, 1), five)
    assert " " not in four["headers"]["webhook-signature"]  # one signature


def test_during_a_rotation_both_secrets_verify_and_after_the_grace_only_the_new_one(receiver, fast_sends, caplog):
    caplog.set_level(logging.DEBUG)
    rotated(4, 2, previous_valid_until=timezone.now() + timedelta(hours=24))
    notice = Notification.objects.get(event_type="project.webhook_secret_rotated")
    assert notice.recipient == "user:9" and "version 2" in notice.body
    assert Delivery.objects.get(channel="email").target == "team@example.com"  # the owner is e-mailed, never webhooked
    during = sent_webhook(receiver, 4)
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    assert verifies(project_secret(4, 2), during) and verifies(project_secret(4, 1), during)
    rotated(4, 3, previous_valid_until=timezone.now() - timedelta(seconds=1))  # rotated again, no grace left
    after = sent_webhook(receiver, 4)
    assert verifies(project_secret(4, 3), after)
    assert not verifies(project_secret(4, 2), after) and not verifies(project_secret(4, 1), after)
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for version in (1, 2, 3):
        assert project_secret(4, version).removeprefix("whsec_") not in logged


def test_the_legacy_shared_secret_signs_too_while_it_is_set(receiver, fast_sends, settings):
    legacy = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_SECRET": legacy}
    request = sent_webhook(receiver, 4)
    assert verifies(legacy, request) and verifies(project_secret(4, 1), request)


def test_an_unusable_master_key_fails_the_delivery_with_the_reason(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_MASTER_KEY": "whsec_too-short"}
    inbox_take(envelope(payload=generation_payload(notification_email=None, webhook_url=receiver.url)))
    deliveries_send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.last_error.startswith("signing key: ")
    assert receiver.requests == []


def test_a_process_reads_a_rotation_within_the_key_version_ttl(monkeypatch):
    monkeypatch.setattr(signing, "KEY_VERSION_TTL", 0.3)
    assert signing.project_key_version(7).version == 1
    rotated(7, 2, previous_valid_until=timezone.now() + timedelta(hours=1))
    assert signing.project_key_version(7).version == 1  # kept: the previous key still signs, and is valid
    wait_for(lambda: signing.project_key_version(7).version == 2, timeout=5, what="the rotation read")
