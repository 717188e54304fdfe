"""Delivery workers as processes (`manage.py deliveries_run`), real receivers on loopback: a hanging neighbour,
an outage, a worker killed mid-send, and PostgreSQL, Redis and every worker restarted in the middle of a schedule.

Guarantee 10: a receiver's trouble is its own, and a delivery survives its receiver's outage and every restart.
"""

from __future__ import annotations

import sys

import psycopg
import pytest

from codegen_contracts import envelope_to_builtins
from devinfra.postgres import PostgresServer
from devinfra.redis import RedisServer
from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryAttempt
from tests.fakes import WebhookReceiver
from tests.notifier.conftest import enqueue, envelope, generation_payload, worker_env
from tests.support import NOTIFIER_MANAGE, Processes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def webhook_events(url: str, count: int, *, project_id: int) -> list[str]:
    ids = []
    for _ in range(count):
        event = envelope(payload=generation_payload(project_id=project_id, notification_email=None, webhook_url=url))
        inbox_take(event)
        ids.append(str(event.event_id))
    return ids


def delivered(url: str) -> int:
    return Delivery.objects.filter(target=url, status="delivered").count()


def test_a_hanging_endpoint_holds_only_its_own_room_and_the_others_are_delivered(workers):
    hanging, healthy = WebhookReceiver(), WebhookReceiver()
    hanging.default = "hang"
    try:
        workers.notifier_deliverer(
            NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY="2", NOTIFIER_DELIVERY_THREADS="4", WEBHOOK_TIMEOUT="30"
        )
        webhook_events(hanging.url, 12, project_id=4)
        wait_for(lambda: hanging.in_flight == 2, what="the hanging endpoint holding its room")
        expected = set(webhook_events(healthy.url, 5, project_id=5))
        wait_for(lambda: delivered(healthy.url) == 5, what="the healthy endpoint's webhooks")
        assert {r["headers"]["webhook-id"] for r in healthy.requests} == expected
        assert hanging.in_flight == 2 and hanging.most_in_flight == 2 and len(hanging.requests) == 2
    finally:
        hanging.close()
        healthy.close()


def test_an_endpoint_down_for_a_while_gets_every_webhook_once_it_is_back(workers):
    receiver = WebhookReceiver()
    port = receiver.port
    receiver.close()  # down: connections are refused
    workers.notifier_deliverer(NOTIFIER_WEBHOOK_RETRY_SCHEDULE="0.3s,0.3s,0.5s,1s,1s,2s,2s,5s")
    expected = set(webhook_events(f"http://127.0.0.1:{port}/hooks/codegen", 3, project_id=4))
    wait_for(
        lambda: DeliveryAttempt.objects.filter(error__contains="Connection refused").count() >= 6,
        what="attempts refused",
    )
    assert Delivery.objects.filter(status="pending").count() == 3  # not lost: due again later
    back = WebhookReceiver(port=port)
    try:
        wait_for(lambda: Delivery.objects.filter(status="delivered").count() == 3, timeout=30, what="all three")
        assert sorted(r["headers"]["webhook-id"] for r in back.requests) == sorted(expected)
    finally:
        back.close()


def test_a_worker_killed_mid_send_leaves_the_delivery_to_be_sent_again_with_the_same_id(workers):
    receiver = WebhookReceiver()
    receiver.script = ["hang"]
    try:
        victim = workers.notifier_deliverer(WEBHOOK_TIMEOUT="2", EMAIL_TIMEOUT="2")
        [event_id] = webhook_events(receiver.url, 1, project_id=4)
        wait_for(lambda: receiver.requests, what="the worker sending")
        workers.kill_group(victim)
        workers.notifier_deliverer(WEBHOOK_TIMEOUT="2", EMAIL_TIMEOUT="2")
        wait_for(lambda: delivered(receiver.url) == 1, timeout=30, what="sent again after the claim ran out")
        assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event_id, event_id]
        record = list(DeliveryAttempt.objects.order_by("number").values_list("number", "status_code", "error"))
        assert record[0][2].startswith("the sender stopped mid-attempt") and record[-1][1] == 200
        assert Delivery.objects.get().claimed_until is None
    finally:
        receiver.close()


def test_a_delivery_due_later_is_sent_once_after_postgresql_redis_and_every_worker_restarted(
    notifier_redis, smtp_sink, tmp_path
):
    pg, redis_server, receiver = PostgresServer().start(), RedisServer().start(), WebhookReceiver()
    receiver.default = 500
    processes: Processes | None = None
    try:
        url = pg.create_database("notifier_schedule")
        env = worker_env(url, redis_server.url, smtp_sink.port, NOTIFIER_WEBHOOK_RETRY_SCHEDULE="8s,8s")
        processes = Processes(env, tmp_path)
        migrated = processes.run([sys.executable, str(NOTIFIER_MANAGE), "migrate", "-v0"])
        assert migrated.returncode == 0, migrated.stderr
        worker, deliverer = processes.notifier_worker(), processes.notifier_deliverer()
        # given a delivery that failed once and is due again in about eight seconds
        event = envelope(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
        enqueue(redis_server.url, envelope_to_builtins(event), str(event.event_id))
        wait_for(lambda: receiver.requests, what="the first attempt")
        with psycopg.connect(url, autocommit=True) as conn:
            due = "SELECT status, next_attempt_at > now() FROM notifier_delivery"
            wait_for(lambda: conn.execute(due).fetchone() == ("pending", True), what="the retry scheduled")
        # when every worker is killed, and PostgreSQL and Redis restart
        processes.kill_group(worker)
        processes.kill_group(deliverer)
        pg.stop_keep()
        redis_server.restart()
        pg.start_again()
        receiver.default = 200
        processes.notifier_worker()
        processes.notifier_deliverer()
        # then it is sent on its schedule, once more, with the same id
        with psycopg.connect(url, autocommit=True) as conn:
            status = "SELECT status, attempts FROM notifier_delivery"
            wait_for(lambda: conn.execute(status).fetchone() == ("delivered", 2), timeout=40, what="the retry sent")
            attempts = conn.execute("SELECT status_code FROM notifier_delivery_attempt ORDER BY number").fetchall()
        assert attempts == [(500,), (200,)]
        assert [r["headers"]["webhook-id"] for r in receiver.requests] == [str(event.event_id)] * 2
    finally:
        if processes is not None:
            processes.stop_all()
        receiver.close()
        redis_server.stop()
        pg.stop()


def test_the_delivery_worker_stops_cleanly_on_sigterm(workers):
    deliverer = workers.notifier_deliverer()
    wait_for(lambda: "delivery worker:" in workers.output(deliverer), what="the worker up")
    deliverer.terminate()
    assert deliverer.wait(timeout=15) == 0
