"""Guarantee 4 with real Dramatiq worker processes: redelivery, concurrency, crashes, poison messages."""

from __future__ import annotations

import pytest
import redis
from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage

from codegen_contracts import envelope_to_builtins
from tests.notifier.conftest import enqueue, envelope, generation_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "notifications.worker"


def effects() -> tuple[int, int, int]:
    return InboxEvent.objects.count(), Notification.objects.count(), Delivery.objects.count()


def test_same_event_five_times_in_a_row_has_one_effect(workers, notifier_redis, smtp_sink, receiver):
    event = envelope(payload=generation_payload(webhook_url=receiver.url))
    for _ in range(5):
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    workers.worker(WORKER)
    wait_for(lambda: Delivery.objects.filter(status="delivered").count() == 2, what="both deliveries")
    client = redis.Redis.from_url(notifier_redis)
    wait_for(
        lambda: client.llen("dramatiq:codegen-events") == 0 and not client.keys("dramatiq:__acks__*"),
        what="queue drained",
    )
    assert effects() == (1, 1, 2)
    assert len(smtp_sink.messages) == 1 and len(receiver.requests) == 1


def test_same_event_twice_at_once_to_two_workers_has_one_effect(workers, notifier_redis, smtp_sink):
    first, second = workers.worker(WORKER), workers.worker(WORKER)
    wait_for(lambda: "Worker process is ready" in workers.output(first) + workers.output(second), what="workers up")
    for _ in range(3):
        event = envelope()
        data = envelope_to_builtins(event)
        enqueue(notifier_redis, data, str(event.event_id))
        enqueue(notifier_redis, data, str(event.event_id))
    wait_for(lambda: Delivery.objects.filter(status="delivered").count() == 3, what="three e-mails")
    assert effects() == (3, 3, 3)
    assert len(smtp_sink.messages) == 3


def test_worker_killed_mid_message_is_redelivered_with_one_effect(workers, notifier_redis, receiver):
    receiver.script = ["hang"]  # the first webhook try never returns: the worker is mid-message
    event = envelope(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    victim = workers.worker(WORKER, NOTIFIER_HEARTBEAT_TIMEOUT_MS="1000", WEBHOOK_TIMEOUT="2")
    enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    wait_for(lambda: receiver.requests, what="the worker reaching the webhook")
    assert Notification.objects.count() == 1  # the inbox transaction committed
    workers.kill_group(victim)  # the Dramatiq master and the worker process it forked
    workers.worker(WORKER, NOTIFIER_HEARTBEAT_TIMEOUT_MS="1000", NOTIFIER_MAINTENANCE_CHANCE="100000")
    wait_for(lambda: Delivery.objects.filter(status="delivered").exists(), timeout=60, what="redelivery")
    assert effects() == (1, 1, 1)
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {str(event.event_id)}


def test_malformed_message_is_dead_lettered_and_the_next_one_flows(workers, notifier_redis):
    enqueue(notifier_redis, {"event_id": "garbage"}, "poison-1")
    good = envelope()
    enqueue(notifier_redis, envelope_to_builtins(good), str(good.event_id))
    workers.worker(WORKER)
    wait_for(Notification.objects.exists, what="the good message")
    record = wait_for(lambda: PoisonMessage.objects.filter(message_id="poison-1").first(), what="poison recorded")
    assert record.dead_lettered
    client = redis.Redis.from_url(notifier_redis)
    dead = wait_for(lambda: client.hkeys("dramatiq:codegen-events.XQ.msgs"), what="dead-lettered")
    assert len(dead) == 1


def test_unknown_type_is_acknowledged_and_the_next_one_flows(workers, notifier_redis):
    unknown = envelope_to_builtins(envelope())
    unknown["event_type"] = "generation.teleported"
    enqueue(notifier_redis, unknown, "unknown-1")
    good = envelope()
    enqueue(notifier_redis, envelope_to_builtins(good), str(good.event_id))
    workers.worker(WORKER)
    wait_for(Notification.objects.exists, what="the good message")
    client = redis.Redis.from_url(notifier_redis)
    wait_for(lambda: client.llen("dramatiq:codegen-events") == 0, what="queue drained")
    assert InboxEvent.objects.count() == 1
    assert client.hlen("dramatiq:codegen-events.XQ.msgs") == 0
    assert not PoisonMessage.objects.exists()


def test_a_burst_with_redeliveries_is_taken_in_together_with_one_effect_each(workers, notifier_redis):
    events = [envelope(payload=generation_payload(notification_email=None)) for _ in range(300)]
    messages = events + events[:30]  # 10% redelivered
    for event in messages:
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    workers.worker(WORKER, processes=2, threads=16)
    wait_for(lambda: Notification.objects.count() == 300, timeout=60, what="every event notified")
    client = redis.Redis.from_url(notifier_redis)
    wait_for(
        lambda: client.llen("dramatiq:codegen-events") == 0 and not client.keys("dramatiq:__acks__*"),
        what="queue drained",
    )
    assert effects() == (300, 300, 0)
    assert Notification.objects.values("event_id").distinct().count() == 300
    # Rows of one transaction share its now(): fewer distinct times than events means group commit.
    transactions = InboxEvent.objects.values("received_at").distinct().count()
    assert transactions < 300, transactions
