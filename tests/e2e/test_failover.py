"""Guarantee 1 through a Redis failover: a primary, a replica and three Sentinels on loopback; relays and
notifier workers follow the Sentinels. With OUTBOX_MIN_REPLICAS=1 nothing committed is lost or notified
twice when the primary dies, and a replica that is down holds rows back (pending, not dead) until it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from devinfra.sentinel import SentinelGroup
from outbox.models import OutboxEvent, OutboxState
from projects import services
from tests.e2e.conftest import notifier_rows, notifier_worker_env
from tests.fakes import SmtpSink
from tests.projects.factories import ProjectFactory
from tests.support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: Relays retry a failed publish quickly here, so that rows held back flow soon after Redis can take them.
FAST_RETRIES = {
    "OUTBOX_MIN_REPLICAS": "1",
    "OUTBOX_POLL_INTERVAL": "0.2",
    "OUTBOX_BACKOFF_BASE": "0.5",
    "OUTBOX_BACKOFF_MAX": "2",
    "OUTBOX_PUBLISH_RETRY_MAX_WAIT": "0.5",
    "OUTBOX_PUBLISH_TIMEOUT": "3",
}


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    """Requested before ``processes``, so that the processes stop while Redis still answers."""
    group = SentinelGroup().start()
    yield group
    group.stop()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


class Stream:
    """Creates generated projects (one handled event each) in a thread until stopped."""

    def __init__(self) -> None:
        self.project = ProjectFactory(webhook_url="")  # e-mails to the sink; no webhook host to resolve
        self.made = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(0.02):
                services.generated_project_create(project=self.project)
                self.made += 1
        finally:
            connection.close()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.made


def all_taken_in_once(notifier_db: str) -> None:
    """Every committed event is in the notifier's inbox, with exactly one notification per handled event."""
    events = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    wait_for(
        lambda: {str(r[0]) for r in notifier_rows(notifier_db, "SELECT event_id FROM notifier_inbox")} == events,
        timeout=90,
        what=f"all {len(events)} committed events taken in by the notifier",
    )
    notified = notifier_rows(notifier_db, "SELECT count(*), count(DISTINCT event_id) FROM notifier_notification")[0]
    processed = notifier_rows(notifier_db, "SELECT count(*) FROM notifier_inbox WHERE status = 'processed'")[0][0]
    assert notified == (processed, processed) == (len(events), len(events))
    # a batch that reached the primary but not its replica in time was taken in, yet is retried until a
    # replica has it too: the rows end published, and the redeliveries change nothing
    wait_for(lambda: not OutboxEvent.objects.exclude(state=OutboxState.PUBLISHED.value).exists(), timeout=60,
             what="every row marked published once a replica acknowledged it")  # fmt: skip
    assert notifier_rows(notifier_db, "SELECT count(*) FROM notifier_notification")[0][0] == len(events)


def test_a_primary_killed_under_a_stream_of_events_loses_nothing_with_min_replicas(group, sink, processes, notifier_db):
    relays = [processes.relay(**group.env(), **FAST_RETRIES) for _ in range(2)]
    # what a worker had fetched when its connection broke comes back after the heartbeat timeout (60 s by
    # default): shorter here, so that the test does not wait for it
    worker = processes.worker(
        "notifications.worker",
        processes=2,
        threads=4,
        **notifier_worker_env(notifier_db, sink.port),
        **group.env(),
        NOTIFIER_HEARTBEAT_TIMEOUT_MS="5000",
    )
    stream = Stream()
    try:
        wait_for(lambda: len(notifier_rows(notifier_db, "SELECT id FROM notifier_notification")) >= 30, timeout=60,
                 what="events flowing through the primary")  # fmt: skip
        old, new = group.kill_primary()
        made_at_failover = stream.made
        wait_for(lambda: stream.made >= made_at_failover + 50, timeout=30, what="events made after the failover")
        # the new primary has no replica yet: with OUTBOX_MIN_REPLICAS=1 nothing is marked published meanwhile
        group.rejoin(old)
        wait_for(lambda: stream.made >= made_at_failover + 100, timeout=30, what="events made after the rejoin")
    finally:
        made = stream.stop()
    all_taken_in_once(notifier_db)
    assert made >= 130
    assert all(process.poll() is None for process in [*relays, worker]), "a process stopped instead of following"
    assert new.port == group.primary_port() and group.server(old.port).port == old.port


def test_a_replica_down_holds_rows_back_until_it_returns(group, sink, processes, notifier_db):
    processes.relay(**group.env(), **FAST_RETRIES)
    processes.worker("notifications.worker", **notifier_worker_env(notifier_db, sink.port), **group.env())
    project = ProjectFactory(webhook_url="")
    services.generated_project_create(project=project)
    wait_for(lambda: OutboxEvent.objects.filter(state=OutboxState.PUBLISHED.value).count() == 1, timeout=30,
             what="the first event published with its replica up")  # fmt: skip
    replica = group.servers[1]
    replica.halt()
    for _ in range(10):
        services.generated_project_create(project=project)

    def held_back() -> Any:
        rows = OutboxEvent.objects.exclude(state=OutboxState.PUBLISHED.value)
        return rows.count() == 10 and all(row.attempts >= 1 for row in rows)

    wait_for(held_back, timeout=30, what="the rows tried and held back while the replica is down")
    assert not OutboxEvent.objects.filter(state=OutboxState.DEAD.value).exists()
    replica.start()
    all_taken_in_once(notifier_db)
