"""Replays with the relay and the notifier running: what reaches people, and races with the relay."""

from __future__ import annotations

import io
import threading

import pytest
import redis
from django.core.management import CommandError, call_command
from django.db import connection

from codegen_config.commands import ExitCode
from outbox.models import OutboxEvent
from projects import services
from tests.e2e.conftest import notifier_rows, notifier_worker_env
from tests.fakes import SmtpSink
from tests.projects.factories import ProjectFactory
from tests.relay.bulk import pending_rows_insert, queued_message_ids
from tests.support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def replay(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox", "replay", *args, stdout=out)
    return out.getvalue()


def settled(redis_url: str) -> bool:
    """Everything published and consumed: no pending row, an empty queue, nothing unacked."""
    client = redis.Redis.from_url(redis_url)
    return (
        not OutboxEvent.objects.filter(state="pending").exists()
        and client.llen("dramatiq:codegen-events") == 0
        and not any(client.scard(key) for key in client.keys("dramatiq:__acks__*"))
    )


def test_replays_reach_the_notifier_as_promised(processes, redis_url, notifier_db):
    sink = SmtpSink()
    try:
        services.generated_project_create(project=ProjectFactory(notification_email="team@example.com", webhook_url=""))
        row = OutboxEvent.objects.get()
        OutboxEvent.objects.filter(pk=row.pk).update(state="dead", attempts=10, last_error="broker outage")
        processes.relay(OUTBOX_POLL_INTERVAL="0.2")
        processes.worker("notifications.worker", **notifier_worker_env(notifier_db, sink.port))
        processes.notifier_deliverer(**notifier_worker_env(notifier_db, sink.port))

        def notifications() -> int:
            return notifier_rows(notifier_db, "SELECT count(*) FROM notifier_notification")[0][0]

        # a dead row replayed is published and notified once
        replay(str(row.event_id), "--reason", "broker is back")
        wait_for(lambda: notifications() == 1 and settled(redis_url), timeout=30, what="the dead row notified")
        wait_for(lambda: len(sink.messages) == 1, what="its e-mail")

        # a published row replayed under the same id: redelivered, deduplicated, nothing added
        replay(str(row.event_id), "--reason", "consumer said it lost it")
        wait_for(lambda: settled(redis_url), timeout=30, what="republished and consumed")
        assert sum(queued_message_ids(redis_url).values()) == 0  # consumed (acked) by the worker
        assert notifications() == 1 and notifier_rows(notifier_db, "SELECT count(*) FROM notifier_delivery")[0][0] == 1

        # with --new-id: re-issued, so exactly one more notification
        replay(str(row.event_id), "--reason", "force reprocessing", "--new-id", "--yes")
        wait_for(lambda: notifications() == 2 and settled(redis_url), timeout=30, what="the re-issued event notified")
        wait_for(lambda: len(sink.messages) == 2, what="its e-mail")
        inbox = notifier_rows(notifier_db, "SELECT event_id::text FROM notifier_inbox")
        reissued = OutboxEvent.objects.get(replay_of=row.event_id)
        assert sorted(e for (e,) in inbox) == sorted([str(row.event_id), str(reissued.event_id)])
    finally:
        sink.close()


def test_concurrent_replay_and_relays_lose_nothing_and_double_nothing(processes, redis_url):
    pending_rows_insert(3000)
    relays = [processes.relay("--batch-size", "100") for _ in range(2)]
    stop = threading.Event()
    replays: list[str] = []

    def keep_replaying() -> None:
        try:
            while not stop.is_set():
                try:
                    replays.append(replay("--state", "pending", "--reason", "race test"))
                except CommandError as exc:  # the relays published every row meanwhile: nothing replayed
                    assert exc.returncode == ExitCode.NOTHING_MATCHED, exc
        finally:
            connection.close()

    racer = threading.Thread(target=keep_replaying)
    racer.start()
    try:
        wait_for(lambda: not OutboxEvent.objects.filter(state="pending").exists(), timeout=120, what="drained")
    finally:
        stop.set()
        racer.join()
    assert len(replays) >= 2  # the replays really ran while the relays worked
    queued = queued_message_ids(redis_url)
    ids = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    assert set(queued) == ids  # none lost
    assert max(queued.values()) == 1  # none published twice
    for relay in relays:
        assert relay.poll() is None
