"""Guarantee 7, in one process: either service deploys first; held events and poison are taken in once, on demand."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from codegen_contracts import envelope_to_builtins
from notifications.delivery.runner import deliveries_send_due
from notifications.intake.consume import event_consume
from notifications.intake.resume import inbox_resume
from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage, Redrive
from notifications.operations.redrive import held_message, held_replay
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.next_release import install, uninstall
from tests.notifier.test_inbox import FakeMessage

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def message(event_type: str = "generation.completed", payload: dict[str, Any] | None = None, **changes: Any) -> dict:
    """An envelope as a producer of some release would send it (plain JSON data)."""
    return {**envelope_to_builtins(envelope(event_type, payload)), **changes}


def export_payload(**changes: Any) -> dict[str, Any]:
    return {
        "project_id": 4, "project_name": "shop", "owner_id": 9, "notification_email": "team@example.com",
        "webhook_url": None, "generated_project_id": 12, "export_id": 3, "repository_url": "https://g.example/r.git",
        "from_status": "running", "to_status": "failed", "error": "push refused", **changes,
    }  # fmt: skip


def v2_payload() -> dict[str, Any]:
    payload = generation_payload()
    payload["total_bytes"] = payload.pop("total_size")
    return payload


@pytest.fixture
def next_release():
    install()
    yield
    uninstall()


AHEAD = {
    "payload field added": (message(payload=generation_payload(build_host="ci-7")), "processed"),
    "export payload field added": (
        message("export.failed", export_payload(retry_after=30), aggregate_type="repository_export"),
        "processed",
    ),
    "ignored type with a field added": (message("generation.running", generation_payload(build_host="x")), "ignored"),
    "envelope field added": (message(priority="high"), "processed"),
    "newer version": (message(payload=v2_payload(), schema_version=2), "parked"),
    "unknown type": (message("generation.teleported"), "unknown"),
}


@pytest.mark.parametrize("case", AHEAD)
def test_a_producer_one_release_ahead_is_never_poison_nor_misread(case):
    data, status = AHEAD[case]
    intake = event_consume(data, message=FakeMessage(case))
    row = InboxEvent.objects.get()
    assert (intake.status, row.status) == (status, status)
    assert row.raw == data  # what the producer sent, unknown fields included
    assert Notification.objects.count() == (1 if status == "processed" else 0)
    assert not PoisonMessage.objects.exists()
    if status in ("parked", "unknown"):
        assert row.reason


def test_an_older_version_is_upcast_and_notified_by_the_next_release(next_release):
    data = message()  # version 1, as a producer one release behind sends it
    intake = event_consume(data, message=FakeMessage("v1"))
    assert intake.status == "processed"
    assert InboxEvent.objects.get().schema_version == 1
    assert Notification.objects.get().body.endswith("3 files, 4096 bytes (v2).")


def test_a_known_version_with_a_broken_payload_is_still_poison():
    from notifications.errors import PoisonEnvelope

    with pytest.raises(PoisonEnvelope):
        event_consume(message(payload=generation_payload(total_files="many")), message=FakeMessage("bad"))
    assert PoisonMessage.objects.get().message_id == "bad" and not InboxEvent.objects.exists()


def test_parked_events_are_taken_in_once_the_notifier_knows_their_version(smtp_sink, next_release):
    uninstall()  # this release does not know version 2 yet
    data = message(payload=v2_payload(), schema_version=2)
    assert event_consume(data, message=FakeMessage("p")).status == "parked"
    assert inbox_resume().count("held") == 1  # still unknown: stays parked
    install()  # the upgraded notifier
    resumed = inbox_resume()
    assert resumed.count("taken in") == 1 and len(resumed.delivery_ids) == 1
    assert InboxEvent.objects.get().status == "processed"
    assert Notification.objects.get().body.endswith("4096 bytes (v2).")
    # again, and a redelivery of the same message: nothing added
    assert inbox_resume().outcomes == {}
    assert event_consume(data, message=FakeMessage("p")).duplicate
    assert (Notification.objects.count(), Delivery.objects.count()) == (1, 1)


def test_two_resumes_at_once_take_each_parked_event_in_once(next_release):
    uninstall()
    for _ in range(40):
        event_consume(message(payload=v2_payload(), schema_version=2), message=FakeMessage("p"))
    install()
    results = []

    def resume() -> None:
        results.append(inbox_resume())
        connection.close()

    threads = [threading.Thread(target=resume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.count("taken in") for r in results) == 40
    assert Notification.objects.count() == 40 and not InboxEvent.objects.filter(status="parked").exists()


def test_an_unknown_type_is_taken_in_when_a_later_release_knows_it(monkeypatch):
    data = message("generation.teleported")
    event_consume(data, message=FakeMessage("u"))
    from codegen_contracts import EVENT_TYPES, EVENT_VERSIONS

    spec = EVENT_TYPES["generation.completed"]
    learned = type(spec)("generation.teleported", 1, spec.aggregate_type, spec.payload_type)
    monkeypatch.setitem(EVENT_VERSIONS, ("generation.teleported", 1), learned)
    monkeypatch.setitem(EVENT_TYPES, "generation.teleported", learned)
    assert inbox_resume().count("taken in") == 1
    assert InboxEvent.objects.get().status == "ignored"  # known now, but no handler: nothing to notify


class EnvelopeBeforeTraceparent(msgspec.Struct, frozen=True, kw_only=True):
    """The tolerant reader of a release whose contracts have no traceparent yet."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    sequence: int
    correlation_id: str | None = None
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    traceparent = None  # not a field: that release reads no such thing


def test_a_notifier_that_predates_traceparent_notifies_as_before(monkeypatch, receiver, fast_sends):
    monkeypatch.setattr("codegen_contracts.reading._TolerantEnvelope", EnvelopeBeforeTraceparent)
    data = message(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    data["traceparent"] = TRACEPARENT
    intake = event_consume(data, message=FakeMessage("t"))
    assert intake.status == "processed" and Notification.objects.count() == 1
    deliveries_send_due()
    assert Delivery.objects.get().status == "delivered"
    assert "traceparent" not in receiver.requests[0]["headers"]


def test_the_current_notifier_passes_traceparent_on_to_its_webhooks(receiver, fast_sends):
    data = message(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    data["traceparent"] = TRACEPARENT
    event_consume(data, message=FakeMessage("t"))
    deliveries_send_due()
    assert Delivery.objects.get().status == "delivered"
    assert receiver.requests[0]["headers"]["traceparent"] == TRACEPARENT
    assert InboxEvent.objects.get().traceparent == TRACEPARENT


def test_a_malformed_traceparent_is_dropped_not_poison(receiver, fast_sends):
    data = message(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    data["traceparent"] = "00-not-a-trace"
    assert event_consume(data, message=FakeMessage("t")).status == "processed"
    deliveries_send_due()
    assert "traceparent" not in receiver.requests[0]["headers"]


def poisoned_by_the_previous_release(data: dict, message_id: str = "m-old") -> PoisonMessage:
    """What the release before tolerant reading recorded for a message with a field it did not know."""
    return PoisonMessage.objects.create(
        message_id=message_id, attempts=1, dead_lettered=True, body=json.dumps(data),
        last_error="contract: envelope: Object contains unknown field `build_host` - at `$.payload`",
    )  # fmt: skip


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("poison", *args, stdout=out)
    return out.getvalue()


def test_poison_replay_after_a_fix_has_one_effect_however_often(smtp_sink):
    data = message(payload=generation_payload(build_host="ci-7"))
    poisoned_by_the_previous_release(data)
    assert "m-old" in run("list") and "poison" in run("list")
    assert json.loads(run("show", "m-old"))["raw"]["payload"]["build_host"] == "ci-7"
    # a dry run changes nothing but is recorded
    assert "would be taken in" in run("replay", "--id", "m-old", "--reason", "tolerant reader deployed", "--dry-run")
    assert not InboxEvent.objects.exists() and Redrive.objects.get().dry_run
    out = run("replay", "--id", "m-old", "--reason", "tolerant reader deployed", "--actor", "ops-ann")
    assert "1 taken in" in out
    deliveries_send_due()
    record = PoisonMessage.objects.get()
    assert record.resolved_at is not None and record.replays == 1
    assert Notification.objects.count() == 1 and len(smtp_sink.messages) == 1
    audit = Redrive.objects.filter(dry_run=False).get()
    assert (audit.actor, audit.reason, audit.matched, audit.taken_in) == ("ops-ann", "tolerant reader deployed", 1, 1)
    # replayed again (the resolved record itself): nothing added
    again = held_replay(messages=[held_message("m-old")], reason="again", actor="ops", source="cli",
                        selection={}, dry_run=False)  # fmt: skip
    assert again.outcomes == {"m-old": ("taken in", "received before: nothing added")}
    deliveries_send_due()
    assert Notification.objects.count() == 1 and len(smtp_sink.messages) == 1
    assert "0 held" in run("list")  # resolved poison is listed only with --resolved
    assert "m-old" in run("list", "--resolved")


def test_poison_the_contracts_still_refuse_stays_poison():
    poisoned_by_the_previous_release({"event_id": "garbage"}, "m-bad")
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError) as failed:  # exit 1: it did not take the message in
        call_command("poison", "replay", "--all", "--reason", "try again", stdout=out)
    assert failed.value.returncode == 1 and str(failed.value) == "1 of 1 message not taken in"
    assert "refused" in out.getvalue() and "0 taken in" in out.getvalue()
    record = PoisonMessage.objects.get()
    assert record.resolved_at is None and record.replays == 1 and "on replay" in record.last_error


def test_parked_events_are_replayed_by_kind(next_release):
    uninstall()
    event_consume(message(payload=v2_payload(), schema_version=2), message=FakeMessage("p"))
    assert "parked" in run("list", "--kind", "parked")
    install()
    assert "1 taken in" in run("replay", "--kind", "parked", "--all", "--reason", "notifier 1.5 knows v2")
    assert Notification.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["replay", "--id", "m-1"], "--reason"),
        (["replay", "--id", "m-1", "--reason", "  "], "a reason is required"),
        (["replay", "--reason", "why"], "--all"),
        (["show", "nothing-here"], "no poison message or held event"),
        (["list", "--kind", "lost"], "invalid choice"),
        (["list", "--limit", "0"], "--limit"),
    ],
)
def test_poison_command_refuses_bad_input_clearly(args, error):
    poisoned_by_the_previous_release(message(), "m-1")
    with pytest.raises(CommandError, match=error):
        run(*args)
    assert PoisonMessage.objects.get().resolved_at is None


def test_the_inbox_purge_keeps_parked_events_until_they_are_taken_in():
    event_consume(message(), message=FakeMessage("a"))
    event_consume(message(payload=v2_payload(), schema_version=2), message=FakeMessage("b"))
    event_consume(message("generation.teleported"), message=FakeMessage("c"))
    InboxEvent.objects.update(received_at=datetime(2020, 1, 1, tzinfo=UTC))
    from io import StringIO

    out = StringIO()
    call_command("inbox_purge", "--days", "30", stdout=out)
    assert "deleted 2 inbox rows and 0 closed gaps older than 30 days" in out.getvalue()
    assert list(InboxEvent.objects.values_list("status", flat=True)) == ["parked"]


def test_poison_replay_prints_its_outcome_as_json_for_scripts():
    poisoned_by_the_previous_release(message(), "m-json")
    dry = json.loads(run("replay", "--id", "m-json", "--reason", "check", "--dry-run", "--json"))
    assert (dry["matched"], dry["taken_in"], dry["dry_run"]) == (1, 1, True)
    assert dry["outcomes"] == [{"id": "m-json", "outcome": "taken in", "why": "would be taken in"}]
    assert dry["redrive_id"] == Redrive.objects.get().pk
