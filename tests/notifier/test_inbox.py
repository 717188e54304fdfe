"""Guarantee 4: an event taken in twice, or five times, or concurrently, has one effect."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from notifications.errors import PoisonEnvelope
from notifications.intake.consume import event_consume
from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage
from tests.notifier.conftest import envelope, generation_payload

pytestmark = pytest.mark.django_db(transaction=True)


class FakeMessage:
    def __init__(self, message_id: str, retries: int = 0) -> None:
        self.message_id = message_id
        self.options = {"retries": retries}


def test_same_event_five_times_has_one_effect(smtp_sink):
    event = envelope(payload=generation_payload(webhook_url="https://hooks.example.com/x"))
    first = inbox_take(event)
    again = [inbox_take(event) for _ in range(4)]
    assert not first.duplicate and all(i.duplicate for i in again)
    assert InboxEvent.objects.count() == 1
    assert Notification.objects.count() == 1
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["email", "webhook"]
    assert set(first.delivery_ids) == set(Delivery.objects.values_list("pk", flat=True))
    assert all(set(i.delivery_ids) == set(first.delivery_ids) for i in again)  # still pending: handed back


def test_same_event_twice_at_the_same_moment_has_one_effect():
    event = envelope()
    barrier = threading.Barrier(2)
    results = []

    def take() -> None:
        barrier.wait()
        try:
            results.append(inbox_take(event).duplicate)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(results) == {False: 1, True: 1}
    assert Notification.objects.count() == 1 and Delivery.objects.count() == 1


def test_notification_names_the_event_and_recipient():
    event = envelope()
    inbox_take(event)
    notification = Notification.objects.get()
    assert notification.event.event_id == event.event_id
    assert notification.recipient == "user:9" and notification.project_id == 4
    assert notification.subject == "Generation completed for shop"
    assert "3 files, 4096 bytes" in notification.body


@pytest.mark.parametrize(
    "event_type",
    ["generation.started", "generation.completed", "generation.failed", "export.completed", "export.failed"],
)
def test_each_handled_type_notifies(event_type):
    payload = generation_payload()
    if event_type.startswith("export."):
        payload = {
            **{k: v for k, v in payload.items() if k not in {"total_files", "total_size"}},
            "export_id": 5,
            "repository_url": "https://git.example.com/shop.git",
            "error": "push rejected" if event_type == "export.failed" else "",
        }
    inbox_take(envelope(event_type, payload, aggregate_type="repository_export"))
    assert Notification.objects.get().event_type == event_type


def test_known_types_without_handler_are_recorded_as_ignored():
    event = envelope("generation.running", generation_payload(from_status="pending", to_status="generating"))
    assert inbox_take(event).ignored
    assert InboxEvent.objects.get().status == "ignored"
    assert not Notification.objects.exists()


def test_unknown_type_is_recorded_raw_with_no_effect():
    raw = {
        "event_id": "5b1d7b0e-1d7f-4a52-8b7b-7f0c1f9f2d11",
        "event_type": "generation.teleported",
        "schema_version": 1,
        "occurred_at": "2026-11-26T07:00:00Z",
        "aggregate_type": "generated_project",
        "aggregate_id": "1",
        "sequence": 1,
        "payload": {},
    }
    intake = event_consume(raw, message=FakeMessage("m-1"))
    assert intake.status == "unknown" and not intake.delivery_ids
    row = InboxEvent.objects.get()
    assert row.event_type == "generation.teleported" and row.raw == raw and "not in this catalogue" in row.reason
    assert not Notification.objects.exists() and not PoisonMessage.objects.exists()


def test_poison_message_is_recorded_and_refused_for_retry():
    with pytest.raises(PoisonEnvelope):
        event_consume({"event_id": "not-a-uuid"}, message=FakeMessage("m-2"))
    record = PoisonMessage.objects.get()
    assert record.message_id == "m-2" and record.dead_lettered and "event_id" in record.last_error
    from notifications.intake.consume import should_retry

    assert should_retry(0, PoisonEnvelope("x")) is False
    assert should_retry(0, RuntimeError("db down")) is True


def test_processing_failures_are_counted_in_the_database(monkeypatch):
    def broken(envelope):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("notifications.intake.consume.inbox_take", broken)
    data = {
        "event_id": "5b1d7b0e-1d7f-4a52-8b7b-7f0c1f9f2d12",
        "event_type": "generation.completed",
        "schema_version": 1,
        "occurred_at": "2026-11-26T07:00:00Z",
        "aggregate_type": "generated_project",
        "aggregate_id": "1",
        "sequence": 1,
        "payload": generation_payload(),
    }
    for retries in range(3):
        with pytest.raises(RuntimeError):
            event_consume(data, message=FakeMessage("m-3", retries=retries))
    record = PoisonMessage.objects.get(message_id="m-3")
    assert record.attempts == 3 and not record.dead_lettered


def test_the_inbox_keeps_envelope_fields_by_their_names():
    from codegen_contracts import Envelope
    from notifications.intake.intake_writes import INBOX_ENVELOPE_FIELDS

    assert set(INBOX_ENVELOPE_FIELDS) <= set(Envelope.__struct_fields__)
    assert all(InboxEvent._meta.get_field(name).column == name for name in INBOX_ENVELOPE_FIELDS)
