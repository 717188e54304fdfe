"""Guarantee 8 with real Redis and worker processes: each aggregate's effects in order, no false gap."""

from __future__ import annotations

import random

import pytest
import redis

from codegen_contracts import envelope_to_builtins
from notifications.models import InboxEvent, Notification, SequenceGap
from tests.notifier.conftest import enqueue, envelope, generation_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "notifications.worker"


def drained(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return client.llen("dramatiq:codegen-events") == 0 and not client.keys("dramatiq:__acks__*")
    finally:
        client.close()


def sequences_in_effect_order() -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for aggregate, sequence in Notification.objects.order_by("id").values_list(
        "event__aggregate_id", "event__sequence"
    ):
        order.setdefault(aggregate, []).append(sequence)
    return order


def test_three_events_enqueued_in_reverse_to_two_workers_take_effect_in_order(workers, notifier_redis):
    events = [envelope(aggregate_id="gp-7", sequence=s, payload=generation_payload(notification_email=None))
              for s in (3, 2, 1)]  # fmt: skip
    first, second = (
        workers.worker(WORKER, processes=1, threads=8, NOTIFIER_ORDER_WAIT="30"),
        workers.worker(WORKER, processes=1, threads=8, NOTIFIER_ORDER_WAIT="30"),
    )
    wait_for(lambda: workers.output(first).count("is ready") + workers.output(second).count("is ready") >= 2,
             what="both workers up")  # fmt: skip
    for event in events:
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    wait_for(lambda: Notification.objects.count() == 3, timeout=60, what="three notifications")
    assert sequences_in_effect_order() == {"gp-7": [1, 2, 3]}
    assert not SequenceGap.objects.exists()


def test_thousands_of_aggregates_interleaved_with_redeliveries_leave_no_false_gap(workers, notifier_redis):
    rng = random.Random(12)
    aggregates = [f"agg-{n}" for n in range(1500)]
    events = [envelope(aggregate_id=a, sequence=s, payload=generation_payload(notification_email=None))
              for a in aggregates for s in (1, 2, 3)]  # fmt: skip
    messages = events + rng.sample(events, len(events) // 10)  # 10% redelivered
    rng.shuffle(messages)
    for event in messages:
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    workers.worker(WORKER, processes=2, threads=16, NOTIFIER_ORDER_WAIT="30")
    wait_for(lambda: Notification.objects.count() == len(events), timeout=120, what="every event notified")
    wait_for(lambda: drained(notifier_redis), what="queue drained")
    assert sequences_in_effect_order() == {a: [1, 2, 3] for a in aggregates}
    assert not SequenceGap.objects.exists()
    assert not InboxEvent.objects.filter(status="waiting").exists()
    assert InboxEvent.objects.count() == len(events)


def test_an_event_that_never_comes_is_given_up_on_after_the_order_wait_and_reported(workers, notifier_redis):
    first, third = (envelope(aggregate_id="gp-9", sequence=s, payload=generation_payload(notification_email=None))
                    for s in (1, 3))  # fmt: skip
    workers.worker(WORKER, NOTIFIER_ORDER_WAIT="1")
    for event in (third, first):
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    wait_for(lambda: Notification.objects.count() == 2, timeout=30, what="the third after its wait")
    assert sequences_in_effect_order() == {"gp-9": [1, 3]}
    gap = SequenceGap.objects.get()
    assert (gap.aggregate_id, gap.sequence, gap.closed_at) == ("gp-9", 2, None)
