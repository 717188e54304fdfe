"""Guarantee 4 under group commit: events taken in together, in one transaction, still have one
effect each, and one event that cannot be written fails only its own message."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import pytest
from django.db import DatabaseError, connection

from codegen_contracts import Envelope
from notifications.intake.event_plan import Intake
from notifications.intake.group_commit import IntakeWriter
from notifications.intake.inbox import inbox_take_many
from notifications.models import Delivery, InboxEvent, Notification
from tests.notifier.conftest import envelope, generation_payload
from tests.support import poll, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingTakeMany:
    """The real inbox_take_many, recording each batch's size. ``hold_first`` keeps the first batch
    back until the callers behind it have piled up (given its size, it says when to go on)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.started: list[int] = []
        self.hold_first: Callable[[int], bool] | None = None

    def __call__(self, envelopes: Sequence[Envelope]) -> list[Intake]:
        self.started.append(len(envelopes))
        if not self.sizes and self.hold_first:
            hold_first = self.hold_first
            poll(lambda: hold_first(len(envelopes)), timeout=10, interval=0.002)  # in the writer thread
        self.sizes.append(len(envelopes))
        return inbox_take_many(envelopes)


def held_writer(max_batch: int, handed_over: int) -> tuple[IntakeWriter, RecordingTakeMany]:
    """A writer whose first batch waits until ``handed_over`` items in all were given to the writer."""
    take_many = RecordingTakeMany()
    writer = IntakeWriter(max_batch=max_batch, take_many=take_many)
    take_many.hold_first = lambda first: first + writer.waiting() >= handed_over
    return writer, take_many


@pytest.fixture
def poison_trigger() -> Iterator[None]:
    """A trigger that makes PostgreSQL refuse any inbox row whose aggregate id is 'poison'."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.aggregate_id = 'poison' THEN RAISE EXCEPTION 'poisoned event %', NEW.event_id; END IF; "
            "RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON notifier_inbox FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_poison ON notifier_inbox")
        cursor.execute("DROP FUNCTION refuse_poison()")


def take_concurrently(writer: IntakeWriter, events: list[Envelope]) -> list[Intake | BaseException]:
    """Every event handed to ``writer`` from its own thread, all released at once; results in order."""
    results: list[Intake | BaseException] = [RuntimeError("not taken")] * len(events)
    barrier = threading.Barrier(len(events))

    def take(i: int) -> None:
        barrier.wait()
        try:
            results[i] = writer.take(events[i])
        except BaseException as exc:  # handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(events))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_one_call_takes_each_event_once_and_answers_in_order():
    first, second = envelope(), envelope(payload=generation_payload(webhook_url="https://hooks.example.com/x"))
    ignored = envelope("generation.running", generation_payload(from_status="pending", to_status="generating"))
    intakes = inbox_take_many([first, second, first, ignored, second])
    assert [i.duplicate for i in intakes] == [False, False, True, False, True]
    assert intakes[3].ignored and not intakes[0].ignored
    assert len(intakes[1].delivery_ids) == 2 and intakes[4].delivery_ids == ()  # the first one sends
    assert set(intakes[0].delivery_ids) | set(intakes[1].delivery_ids) == set(
        Delivery.objects.values_list("pk", flat=True)
    )
    assert InboxEvent.objects.count() == 3
    assert Notification.objects.count() == 2


def test_a_batch_redelivered_adds_nothing_and_hands_back_pending_deliveries():
    events = [envelope(payload=generation_payload(webhook_url=f"https://hooks.example.com/{i}")) for i in range(5)]
    first = inbox_take_many(events)
    again = inbox_take_many(list(reversed(events)))
    assert all(i.duplicate for i in again)
    assert [i.delivery_ids for i in reversed(again)] == [i.delivery_ids for i in first]
    assert Notification.objects.count() == 5 and Delivery.objects.count() == 10


def test_concurrent_takes_are_written_together_with_one_effect_each():
    writer, take_many = held_writer(64, handed_over=32)
    distinct = [envelope() for _ in range(24)]
    same = envelope()
    try:
        results = take_concurrently(writer, distinct + [same] * 8)
    finally:
        writer.stop()
    assert all(isinstance(r, Intake) for r in results), results
    intakes: list[Intake] = results  # type: ignore[assignment]
    assert not any(i.duplicate for i in intakes[:24])
    assert Counter(i.duplicate for i in intakes[24:]) == {False: 1, True: 7}
    assert sum(take_many.sizes) == 32 and max(take_many.sizes) > 1, take_many.sizes
    assert InboxEvent.objects.count() == Notification.objects.count() == 25


def test_one_event_that_cannot_be_written_fails_only_its_own_take(poison_trigger):
    writer, take_many = held_writer(64, handed_over=10)
    events = [envelope() for _ in range(9)] + [envelope(aggregate_id="poison")]
    try:
        results = take_concurrently(writer, events)
        after = writer.take(envelope())  # the writer keeps serving
    finally:
        writer.stop()
    assert isinstance(results[-1], DatabaseError) and "poisoned event" in str(results[-1])
    assert all(isinstance(r, Intake) and not r.duplicate for r in results[:-1]), results
    assert not after.duplicate
    assert any(size > 1 for size in take_many.sizes), take_many.sizes  # a batch failed, then each alone
    assert InboxEvent.objects.count() == Notification.objects.count() == 10
    assert not InboxEvent.objects.filter(aggregate_id="poison").exists()


def test_a_lone_event_is_written_at_once_not_held_for_a_batch():
    take_many = RecordingTakeMany()
    writer = IntakeWriter(max_batch=64, take_many=take_many)
    try:
        first = writer.take(envelope())
        second = writer.take(envelope())
    finally:
        writer.stop()
    assert not first.duplicate and not second.duplicate
    assert take_many.sizes == [1, 1]


def test_the_writer_outlives_an_unexpected_error():
    calls: list[int] = []

    def broken_once(envelopes: Sequence[Envelope]) -> list[Intake]:
        calls.append(len(envelopes))
        if len(calls) == 1:
            raise RuntimeError("database on fire")
        return inbox_take_many(envelopes)

    writer = IntakeWriter(max_batch=8, take_many=broken_once)
    try:
        with pytest.raises(RuntimeError, match="on fire"):
            writer.take(envelope())
        assert not writer.take(envelope()).duplicate
    finally:
        writer.stop()
    assert InboxEvent.objects.count() == 1


def test_stop_finishes_what_was_handed_over_first():
    writer, take_many = held_writer(8, handed_over=5)  # the four events, then stop()'s end marker
    results: list[Intake] = []
    threads = [threading.Thread(target=lambda: results.append(writer.take(envelope()))) for _ in range(4)]
    for thread in threads:
        thread.start()
    # the first batch is held; the rest of the four wait behind it
    wait_for(
        lambda: len(take_many.started) == 1 and take_many.started[0] + writer.waiting() == 4,
        what="all four handed over",
    )
    writer.stop()
    for thread in threads:
        thread.join(10)
    assert len(results) == 4 and not any(r.duplicate for r in results)
    assert sum(take_many.sizes) == 4
    assert InboxEvent.objects.count() == 4
