"""Guarantee 4 with real Dramatiq worker processes: redelivery, concurrency, crashes, poison messages."""

from __future__ import annotations

import pytest
import redis
from dramatiq.common import current_millis

from codegen_contracts import EVENTS_QUEUE, envelope_to_builtins
from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage
from tests.notifier.conftest import enqueue, envelope, events_message, generation_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "notifications.worker"
HEARTBEATS = "dramatiq:__heartbeats__"


def effects() -> tuple[int, int, int]:
    return InboxEvent.objects.count(), Notification.objects.count(), Delivery.objects.count()


def test_same_event_five_times_in_a_row_has_one_effect(workers, notifier_redis, smtp_sink, receiver):
    event = envelope(payload=generation_payload(webhook_url=receiver.url))
    for _ in range(5):
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    workers.worker(WORKER)
    workers.notifier_deliverer()
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
    workers.notifier_deliverer()
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
    import psycopg

    from tests.notifier.conftest import notifier_database_url

    event = envelope(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    victim = workers.worker(WORKER, NOTIFIER_HEARTBEAT_TIMEOUT_MS="1000")
    with psycopg.connect(notifier_database_url()) as blocker:
        # the inbox locked: the worker's intake waits on it, mid-message
        blocker.execute("LOCK TABLE notifier_inbox IN ACCESS EXCLUSIVE MODE")
        enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
        with psycopg.connect(notifier_database_url(), autocommit=True) as probe:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            wait_for(lambda: probe.execute(waiting).fetchone()[0] > 0, what="the worker waiting mid-message")
        workers.kill_group(victim)  # the Dramatiq master and the worker process it forked
        blocker.rollback()
    workers.worker(WORKER, NOTIFIER_HEARTBEAT_TIMEOUT_MS="1000", NOTIFIER_MAINTENANCE_CHANCE="100000")
    workers.notifier_deliverer()
    wait_for(lambda: Delivery.objects.filter(status="delivered").exists(), timeout=60, what="redelivery")
    assert effects() == (1, 1, 1)
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {str(event.event_id)}


def hold_as_if_fetched(redis_url: str, worker_id: str, data: dict, message_id: str) -> None:
    """Leave a message where a fetch whose reply was lost leaves it: in the worker's ack set only."""
    message = events_message(data, message_id, redis_message_id=message_id)
    client = redis.Redis.from_url(redis_url)
    client.hset(f"dramatiq:{EVENTS_QUEUE}.msgs", message_id, message.encode())
    client.sadd(f"dramatiq:__acks__.{worker_id}.{EVENTS_QUEUE}", message_id)
    client.close()


def test_message_held_when_redis_restarted_is_redelivered_to_the_live_worker(workers, notifier_redis, redis_server):
    """A fetch's reply lost as Redis stops leaves its messages in the live worker's ack set."""
    worker = workers.worker(WORKER, NOTIFIER_HEARTBEAT_TIMEOUT_MS="1000", NOTIFIER_MAINTENANCE_CHANCE="100000")
    first = envelope()
    enqueue(notifier_redis, envelope_to_builtins(first), str(first.event_id))
    wait_for(Notification.objects.exists, what="the worker consuming")
    client = redis.Redis.from_url(notifier_redis)
    # the idle worker heartbeats on every poll; the enqueuing broker did once, before now
    since = current_millis()
    beating = wait_for(lambda: client.zrangebyscore(HEARTBEATS, since, "+inf"), what="the worker's heartbeat")
    worker_id = beating[0].decode()
    held = envelope()
    hold_as_if_fetched(notifier_redis, worker_id, envelope_to_builtins(held), str(held.event_id))
    held_at = current_millis()
    wait_for(  # twice the heartbeat timeout: a live worker's ack set is never given back on its own
        lambda: (client.zscore(HEARTBEATS, worker_id) or 0) > held_at + 2000, what="two heartbeat timeouts of polling"
    )
    assert not InboxEvent.objects.filter(event_id=held.event_id).exists()
    redis_server.halt()
    wait_for(lambda: "connection error" in workers.output(worker), what="the worker losing its connection")
    redis_server.start()
    wait_for(lambda: InboxEvent.objects.filter(event_id=held.event_id).exists(), timeout=60, what="the held message")
    assert effects() == (2, 2, 2)
    assert f"replaces {worker_id}" in workers.output(worker)
    wait_for(lambda: not client.keys("dramatiq:__acks__*"), what="every ack set given back or emptied")
    client.close()
    # handled and recovered: warnings of one line each, nothing CRITICAL, no traceback
    output = workers.output(worker)
    assert "Consumer encountered a connection error" in output  # Dramatiq's wording (notifications.dramatiq_logs)
    assert '"level": "CRITICAL"' not in output and "Traceback" not in output, output[-3000:]


def test_malformed_message_is_dead_lettered_and_the_next_one_flows(workers, notifier_redis):
    enqueue(notifier_redis, {"event_id": "garbage"}, "poison-1")
    good = envelope()
    enqueue(notifier_redis, envelope_to_builtins(good), str(good.event_id))
    worker = workers.worker(WORKER)
    wait_for(Notification.objects.exists, what="the good message")
    record = wait_for(lambda: PoisonMessage.objects.filter(message_id="poison-1").first(), what="poison recorded")
    assert record.dead_lettered
    client = redis.Redis.from_url(notifier_redis)
    dead = wait_for(lambda: client.hkeys("dramatiq:codegen-events.XQ.msgs"), what="dead-lettered")
    assert len(dead) == 1
    # handled and recorded: one warning line with its id, no traceback, no "Retries exceeded"
    output = wait_for(lambda: (o := workers.output(worker)) and "poison-1" in o and o, what="the poison logged")
    assert "poison message dead-lettered (see manage.py poison show poison-1)" in output
    assert "Traceback" not in output and "Retries exceeded" not in output, output[-3000:]


def test_unknown_type_is_recorded_and_the_next_one_flows(workers, notifier_redis):
    unknown = envelope_to_builtins(envelope())
    unknown["event_type"] = "generation.teleported"
    enqueue(notifier_redis, unknown, "unknown-1")
    good = envelope()
    enqueue(notifier_redis, envelope_to_builtins(good), str(good.event_id))
    workers.worker(WORKER)
    wait_for(Notification.objects.exists, what="the good message")
    client = redis.Redis.from_url(notifier_redis)
    wait_for(lambda: client.llen("dramatiq:codegen-events") == 0, what="queue drained")
    wait_for(lambda: InboxEvent.objects.count() == 2, what="both recorded")
    assert InboxEvent.objects.get(event_type="generation.teleported").status == "unknown"
    assert Notification.objects.count() == 1
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


def test_the_worker_keeps_nothing_per_message(notifier_redis, smtp_sink, transactional_db):
    # given the worker's actor in a Dramatiq worker, warmed up (connections, caches, prepared statements)
    import json
    import subprocess
    import sys

    from tests.notifier.conftest import notifier_database_url, worker_env
    from tests.support import REPO

    env = worker_env(notifier_database_url(), notifier_redis, smtp_sink.port, LOG_LEVEL="WARNING")
    # when it takes in 3,000 more events (10% delivered twice, 10% with an e-mail)
    probe = subprocess.run(
        [sys.executable, "-m", "tests.notifier.memory_probe", "1000", "3000"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    # then it holds on to nothing for them: an id kept per message in a set, a dict or a cache costs
    # 100 bytes or more; bounded caches still filling and buffers in flight measure 10-40 here
    assert report["per_message"] < 80, report
    assert InboxEvent.objects.count() == 4000 and Notification.objects.count() == 4000
