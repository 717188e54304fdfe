"""The notifier's REST API: token-authenticated, filterable, read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from notifications.inbox import inbox_take
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.notifier.conftest import envelope, generation_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    user = get_user_model().objects.create_user("operator")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_notifications_list_and_filters(api):
    first = envelope()
    inbox_take(first)
    inbox_take(envelope("generation.failed", generation_payload(project_id=5, to_status="failed")))
    everything = api.get("/api/v1/notifications/").json()
    assert everything["count"] == 2
    item = api.get("/api/v1/notifications/?project_id=4").json()["results"]
    assert [i["event_id"] for i in item] == [str(first.event_id)]
    assert set(item[0]) == {
        "id", "event_id", "event_type", "project_id", "recipient", "channel", "subject", "body", "created_at",
    }  # fmt: skip
    assert api.get("/api/v1/notifications/?event_type=generation.failed").json()["count"] == 1
    assert api.get("/api/v1/notifications/?since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert api.get("/api/v1/notifications/?since=yesterday").status_code == 400


def test_deliveries_list_and_filters(api):
    inbox_take(envelope())
    assert api.get("/api/v1/deliveries/?status=pending&channel=email").json()["count"] == 1
    assert api.get("/api/v1/deliveries/?status=delivered").json()["count"] == 0
    assert api.get("/api/v1/deliveries/?channel=pigeon").status_code == 400


def test_api_needs_a_token():
    assert APIClient().get("/api/v1/notifications/").status_code == 401


def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
