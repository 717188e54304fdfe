"""Each project's webhook secret: read by its owner only, rotated with a grace period, never in an event.

Guarantee 11: a customer's webhooks are signed with that customer's secret.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from codegen_config.signing import DEV_MASTER_KEY
from codegen_contracts.signing import project_signing_key
from outbox.models import OutboxEvent
from tests.projects.conftest import client_for
from tests.projects.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def secret_of(api: APIClient, project_id: int) -> dict:
    response = api.get(f"/api/v1/projects/{project_id}/webhook-secret/")
    assert response.status_code == 200, response.content
    return response.json()


def test_no_two_projects_share_a_secret_and_an_existing_project_has_one_without_doing_anything(api, user):
    first, second = ProjectFactory(owner=user), ProjectFactory(owner=user)
    one, two = secret_of(api, first.pk), secret_of(api, second.pk)
    assert one["secret"].startswith("whsec_") and one["secret"] != two["secret"]
    assert (one["version"], one["rotated_at"], one["previous_valid_until"]) == (1, None, None)
    key = project_signing_key(DEV_MASTER_KEY.encode(), project_id=first.pk, version=1)
    assert base64.b64decode(one["secret"].removeprefix("whsec_")) == key and len(key) == 32
    assert secret_of(api, first.pk) == one  # stable: derived, not drawn anew


def test_another_account_never_reads_or_rotates_it():
    project = ProjectFactory()
    other = client_for(UserFactory())
    assert other.get(f"/api/v1/projects/{project.pk}/webhook-secret/").status_code == 404
    assert other.post(f"/api/v1/projects/{project.pk}/webhook-secret/rotate/").status_code == 404
    assert APIClient().get(f"/api/v1/projects/{project.pk}/webhook-secret/").status_code == 401
    assert not OutboxEvent.objects.exists()


def test_a_rotation_gives_a_new_secret_keeps_the_old_one_for_the_grace_and_tells_the_notifier(api, user, settings):
    settings.PROJECTS = {**settings.PROJECTS, "WEBHOOK_SECRET_ROTATION_GRACE": 3600.0}
    project = ProjectFactory(owner=user, notification_email="team@example.com")
    before = secret_of(api, project.pk)
    response = api.post(f"/api/v1/projects/{project.pk}/webhook-secret/rotate/")
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["version"] == 2 and after["secret"] != before["secret"] and after == secret_of(api, project.pk)
    until = timezone.datetime.fromisoformat(after["previous_valid_until"])
    assert timedelta(minutes=59) < until - timezone.now() <= timedelta(hours=1)
    [event] = OutboxEvent.objects.all()
    assert (event.event_type, event.aggregate_type, event.aggregate_id, event.sequence) == (
        "project.webhook_secret_rotated", "project", str(project.pk), 1,
    )  # fmt: skip
    assert event.payload["webhook_key_version"] == 2 and event.payload["owner_id"] == user.pk
    # no secret travels: neither the new nor the old, in any form
    stored = json.dumps({"payload": event.payload, "headers": event.headers})
    for secret in (before["secret"], after["secret"]):
        assert secret not in stored and secret.removeprefix("whsec_") not in stored
    api.post(f"/api/v1/projects/{project.pk}/webhook-secret/rotate/")
    assert list(OutboxEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]
    assert secret_of(api, project.pk)["version"] == 3


def test_after_the_grace_the_previous_secret_is_no_longer_announced(api, user, settings):
    settings.PROJECTS = {**settings.PROJECTS, "WEBHOOK_SECRET_ROTATION_GRACE": 0.0}
    project = ProjectFactory(owner=user)
    rotated = api.post(f"/api/v1/projects/{project.pk}/webhook-secret/rotate/").json()
    assert rotated["previous_valid_until"] is None and rotated["rotated_at"] is not None
