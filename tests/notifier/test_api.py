"""The notifier's REST API: token-authenticated, filterable, read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from notifications.inbox import inbox_take
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
        "id", "event_id", "event_type", "sequence", "late", "project_id", "recipient", "channel", "subject", "body",
        "created_at",
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


@pytest.fixture
def staff_api() -> APIClient:
    user = get_user_model().objects.create_user("ops", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def hold_one_of_each() -> dict[str, str]:
    """A parked event, an unknown type and a poison message; their ids by kind."""
    from codegen_contracts import envelope_to_builtins
    from notifications.consume import event_consume
    from notifications.errors import PoisonEnvelope
    from tests.notifier.test_inbox import FakeMessage

    parked = {**envelope_to_builtins(envelope()), "schema_version": 2}
    unknown = {**envelope_to_builtins(envelope()), "event_type": "generation.teleported"}
    event_consume(parked, message=FakeMessage("a"))
    event_consume(unknown, message=FakeMessage("b"))
    with pytest.raises(PoisonEnvelope):
        event_consume({"event_id": "garbage"}, message=FakeMessage("m-poison"))
    return {"parked": parked["event_id"], "unknown": unknown["event_id"], "poison": "m-poison"}


@pytest.mark.django_db(transaction=True)
def test_held_messages_are_listed_summarised_and_shown_to_staff(staff_api):
    ids = hold_one_of_each()
    listed = staff_api.get("/api/v1/held/").json()
    assert listed["count"] == 3 and {m["kind"]: m["id"] for m in listed["results"]} == ids
    parked = staff_api.get("/api/v1/held/?kind=parked").json()["results"]
    assert [m["id"] for m in parked] == [ids["parked"]] and "newer" in parked[0]["reason"]
    assert staff_api.get("/api/v1/held/?kind=parked&kind=unknown").json()["count"] == 2
    summary = staff_api.get("/api/v1/held/summary/").json()["held"]
    assert {(s["kind"], s["event_type"], s["schema_version"], s["count"]) for s in summary} == {
        ("poison", None, None, 1),
        ("parked", "generation.completed", 2, 1),
        ("unknown", "generation.teleported", 1, 1),
    }
    shown = staff_api.get(f"/api/v1/held/{ids['unknown']}/").json()
    assert shown["raw"]["event_type"] == "generation.teleported"
    assert staff_api.get("/api/v1/held/m-poison/").json()["raw"] == {"event_id": "garbage"}


@pytest.mark.parametrize(
    ("query", "field"), [("kind=lost", "kind"), ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit")]
)
def test_held_messages_filters_refuse_bad_values_by_name(staff_api, query, field):
    response = staff_api.get(f"/api/v1/held/?{query}")
    assert response.status_code == 400 and field in response.json()


@pytest.mark.django_db(transaction=True)
def test_held_messages_are_for_staff_only(api):
    hold_one_of_each()
    assert api.get("/api/v1/held/").status_code == 403
    assert api.get("/api/v1/held/summary/").status_code == 403
    assert api.get("/api/v1/held/m-poison/").status_code == 403


def test_an_unknown_held_message_is_a_404(staff_api):
    assert staff_api.get("/api/v1/held/nothing/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_admin_replays_selected_poison_with_a_reason(client, smtp_sink):
    from notifications.models import Notification, PoisonMessage, Redrive
    from tests.notifier.test_contract_evolution import message, poisoned_by_the_previous_release

    record = poisoned_by_the_previous_release(message(payload=generation_payload(build_host="ci-7")))
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(admin)
    url = "/admin/notifications/poisonmessage/"
    selected = {"action": "replay_selected", "_selected_action": [record.pk]}
    confirm = client.post(url, selected)
    assert confirm.status_code == 200 and b"replay-form" in confirm.content and b"m-old" in confirm.content
    refused = client.post(url, {**selected, "apply": "1", "reason": ""})
    assert refused.status_code == 200 and not Redrive.objects.exists()  # the form again: a reason is required
    done = client.post(url, {**selected, "apply": "1", "reason": "fixed"}, follow=True)
    assert b"1 taken in" in done.content
    assert Notification.objects.count() == 1 and PoisonMessage.objects.get().resolved_at is not None
    assert Redrive.objects.get().actor == "root"
    held = client.get("/admin/notifications/inboxevent/?held=yes")
    assert held.status_code == 200
