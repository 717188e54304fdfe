"""Operators' actions over the notifier's REST API (notifications.api.operations), staff only: replaying held
messages and retrying deliveries, each with a dry run and an audit record; ids that name nothing are a 404
naming them, with nothing done and nothing recorded."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryRetry, InboxEvent, Notification, PoisonMessage, Redrive
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.test_api import client_for, hold_one_of_each
from tests.notifier.test_contract_evolution import message, poisoned_by_the_previous_release

pytestmark = pytest.mark.django_db(transaction=True)

MISSING_EVENT = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def staff_api():
    return client_for(get_user_model().objects.create_user("ops-ann", is_staff=True))


@pytest.fixture
def api():
    return client_for(get_user_model().objects.create_user("service"))


def failed_email() -> int:
    [delivery_id] = inbox_take(envelope(payload=generation_payload(webhook_url=None))).delivery_ids
    Delivery.objects.filter(pk=delivery_id).update(status="failed", last_error="smtp down")
    return delivery_id


def test_a_poison_message_is_redriven_over_rest_with_a_dry_run_first(staff_api):
    # given a message the previous release could not read
    poisoned_by_the_previous_release(message(payload=generation_payload(build_host="ci-7")))
    # when staff replay it dry, then for real
    dry = staff_api.post("/api/v1/held/replay/", {"ids": ["m-old"], "reason": "reader fixed", "dry_run": True},
                         format="json")  # fmt: skip
    assert dry.status_code == 200, dry.json()
    assert dry.json()["outcomes"] == [{"id": "m-old", "outcome": "taken in", "why": "would be taken in"}]
    assert not InboxEvent.objects.exists()
    done = staff_api.post("/api/v1/held/replay/", {"ids": ["m-old"], "reason": "reader fixed"}, format="json")
    # then it took effect once, and both are on record with who, why and where from
    assert done.status_code == 200 and (done.json()["taken_in"], done.json()["dry_run"]) == (1, False)
    assert Notification.objects.count() == 1 and PoisonMessage.objects.get().resolved_at is not None
    records = list(Redrive.objects.order_by("id").values_list("actor", "source", "reason", "dry_run", "taken_in"))
    assert records == [("ops-ann", "rest", "reader fixed", True, 1), ("ops-ann", "rest", "reader fixed", False, 1)]
    assert done.json()["redrive_id"] == Redrive.objects.latest("id").pk


def test_parked_events_are_resumed_over_rest_by_kind(staff_api):
    ids = hold_one_of_each()
    resumed = staff_api.post(
        "/api/v1/held/replay/", {"all": True, "kind": ["parked"], "reason": "a release knows v2", "dry_run": True},
        format="json",
    )  # fmt: skip
    assert resumed.status_code == 200, resumed.json()
    [outcome] = resumed.json()["outcomes"]
    assert outcome["id"] == ids["parked"] and outcome["outcome"] == "held"  # this release still parks v2
    assert Redrive.objects.get().selection == {"all": True, "kind": ["parked"], "limit": 1000}


def test_a_replay_naming_what_is_not_held_is_a_404_naming_it_and_records_nothing(staff_api):
    ids = hold_one_of_each()
    answer = staff_api.post("/api/v1/held/replay/", {"ids": [ids["poison"], "m-typo", MISSING_EVENT],
                                                     "reason": "typo"}, format="json")  # fmt: skip
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == "not_found" and "m-typo" in body["fields"]["ids"][0]
    assert MISSING_EVENT in body["fields"]["ids"][0] and ids["poison"] not in body["fields"]["ids"][0]
    nothing = staff_api.post("/api/v1/held/replay/", {"all": True, "event_type": "project.created",
                                                      "reason": "x"}, format="json")  # fmt: skip
    assert nothing.status_code == 404 and "nothing held matches" in nothing.json()["fields"]["body"][0]
    assert not Redrive.objects.exists() and PoisonMessage.objects.get().replays == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "why"}, "ids"),
        ({"ids": ["m-1"]}, "reason"),
        ({"ids": ["m-1"], "reason": "   "}, "reason"),
        ({"ids": [12], "reason": "why"}, "ids[0]"),
        ({"ids": ["m-1"], "reason": "why", "dry_run": "yes"}, "dry_run"),
        ({"all": True, "kind": ["lost"], "reason": "why"}, "kind[0]"),
        ({"all": True, "limit": 0, "reason": "why"}, "limit"),
        ({"ids": ["m-1"], "reason": "why", "everything": True}, "everything"),
    ],
)
def test_a_bad_replay_body_is_a_400_naming_the_field(staff_api, body, field):
    poisoned_by_the_previous_release(message(), "m-1")
    answer = staff_api.post("/api/v1/held/replay/", body, format="json")
    assert answer.status_code == 400 and field in answer.json()["fields"], answer.json()
    assert not Redrive.objects.exists()


def test_deliveries_are_retried_over_rest_with_a_record(staff_api):
    # given a failed e-mail
    delivery_id = failed_email()
    # when staff retry it dry, then for real
    dry = staff_api.post("/api/v1/deliveries/retry/", {"ids": [delivery_id], "reason": "smtp back", "dry_run": True},
                         format="json")  # fmt: skip
    assert dry.status_code == 200, dry.json()
    assert Delivery.objects.get(pk=delivery_id).status == "failed"
    done = staff_api.post("/api/v1/deliveries/retry/", {"channel": "email", "older_than": "0s", "reason": "smtp back"},
                          format="json")  # fmt: skip
    # then it is due again, and both are on record
    assert done.status_code == 200, done.json()
    record = DeliveryRetry.objects.latest("id")
    assert done.json() == {"retry_id": record.pk, "dry_run": False, "matched": 1, "made_due": 1, "ids": [delivery_id]}
    assert Delivery.objects.get(pk=delivery_id).status == "pending"
    assert (record.actor, record.source, record.selection) == (
        "ops-ann", "rest", {"status": "failed", "channel": "email", "limit": 1000}
    )  # fmt: skip
    assert dry.json()["retry_id"] != record.pk and DeliveryRetry.objects.get(pk=dry.json()["retry_id"]).dry_run


def test_a_retry_of_unknown_deliveries_or_of_nothing_is_a_404_and_records_nothing(staff_api):
    delivery_id = failed_email()
    unknown = staff_api.post("/api/v1/deliveries/retry/", {"ids": [delivery_id, 99999], "reason": "x"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["fields"]["ids"] == [
        "no delivery with id 99999; nothing made due"
    ]  # fmt: skip
    nothing = staff_api.post("/api/v1/deliveries/retry/", {"status": "pending", "reason": "x"}, format="json")
    assert nothing.status_code == 404 and "no pending delivery matches" in nothing.json()["detail"]
    assert not DeliveryRetry.objects.exists() and Delivery.objects.get(pk=delivery_id).status == "failed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [1]}, "reason"),
        ({"ids": ["1"], "reason": "why"}, "ids[0]"),
        ({"ids": [0], "reason": "why"}, "ids[0]"),
        ({"status": "delivered", "reason": "why"}, "status"),
        ({"channel": "pigeon", "reason": "why"}, "channel"),
        ({"older_than": "ten minutes", "reason": "why"}, "older_than"),
        ({"older_than": "99999999999999999999d", "reason": "why"}, "older_than"),
        ({"limit": 10001, "reason": "why"}, "limit"),
    ],
)
def test_a_bad_retry_body_is_a_400_naming_the_field(staff_api, body, field):
    failed_email()
    answer = staff_api.post("/api/v1/deliveries/retry/", body, format="json")
    assert answer.status_code == 400 and field in answer.json()["fields"], answer.json()
    assert not DeliveryRetry.objects.exists()


def test_operations_are_for_staff_only(api):
    delivery_id = failed_email()
    hold_one_of_each()
    retry = api.post("/api/v1/deliveries/retry/", {"ids": [delivery_id], "reason": "x"}, format="json")
    assert retry.status_code == 403
    assert api.post("/api/v1/held/replay/", {"all": True, "reason": "x"}, format="json").status_code == 403
    assert not DeliveryRetry.objects.exists() and not Redrive.objects.exists()


def test_the_schema_says_a_replay_names_its_messages_or_all(staff_api):
    schema = staff_api.get("/api/schema/?format=json").json()
    replay = schema["components"]["schemas"]["HeldReplayRequest"]
    assert {"required": ["all"], "properties": {"all": {"enum": [True]}}} in replay["anyOf"]
    retry = schema["paths"]["/api/v1/deliveries/retry/"]["post"]
    assert set(retry["responses"]) >= {"200", "400", "403", "404"}
    assert schema["components"]["schemas"]["DeliveryRetryRequest"]["properties"]["older_than"]["format"] == "age"
