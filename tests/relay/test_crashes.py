"""Guarantee 3 across crashes: the relay killed (SIGKILL) at each point loses nothing."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from collections import Counter

import pytest

from outbox.models import OutboxEvent
from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import received, wait_for
from tests.relay.test_publish import make_events

pytestmark = pytest.mark.django_db(transaction=True)

#: A short lease, so that rows a killed relay held come back quickly.
LEASE = {"OUTBOX_LEASE_SECONDS": "2", "OUTBOX_PUBLISH_TIMEOUT": "1", "OUTBOX_SWEEP_INTERVAL": "0.5"}


def all_published() -> bool:
    return not OutboxEvent.objects.exclude(state="published").exists()


def crash(processes, point: str, batch: int) -> None:
    result = processes.run(
        [sys.executable, "-m", "tests.relay.crashing_relay", point], OUTBOX_BATCH_SIZE=str(batch), **LEASE
    )
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr


def test_killed_after_claiming_before_publishing_loses_nothing(processes, redis_url):
    events = make_events(30)
    crash(processes, "after_claim", batch=10)
    leased = OutboxEvent.objects.filter(state="pending", claimed_at__isnull=False).count()
    assert leased == 10  # the first batch was claimed, then the process died
    assert received(redis_url) == []
    processes.relay(**LEASE)
    processes.worker()
    got = wait_for(lambda: (r := received(redis_url)) and len(r) >= 30 and r, timeout=30, what="30 deliveries")
    wait_for(all_published, what="every row published")
    assert Counter(got) == Counter(events)  # nothing lost, nothing twice


def test_killed_after_publishing_before_marking_duplicates_only_that_batch(processes, redis_url):
    events = make_events(30)
    first_batch = [
        str(e) for e in OutboxEvent.objects.order_by("next_attempt_at", "id").values_list("event_id", flat=True)[:10]
    ]
    crash(processes, "after_publish", batch=10)
    assert OutboxEvent.objects.filter(state="published").count() == 0
    processes.relay(**LEASE)
    processes.worker()
    wait_for(all_published, what="every row published")
    got = wait_for(lambda: (r := received(redis_url)) and len(r) >= 40 and r, timeout=30, what="40 deliveries")
    counts = Counter(got)
    assert set(counts) == set(events)
    assert {e for e, n in counts.items() if n > 1} == set(first_batch)
    assert max(counts.values()) == 2


def test_killed_during_batches_under_load_loses_nothing(processes, redis_url):
    project = ProjectFactory()
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            services.generated_project_create(project=project)
            time.sleep(0.002)
        from django.db import connection

        connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(4):
            relay = processes.relay("--batch-size", "25", **LEASE)
            time.sleep(random.uniform(0.5, 1.5))
            relay.kill()
            relay.wait()
    finally:
        stop.set()
        writer.join()
    processes.relay(**LEASE)
    processes.worker()
    wait_for(all_published, timeout=60, what="every row published")
    events = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    got = wait_for(lambda: (r := received(redis_url)) and set(r) >= events and r, timeout=60, what="all deliveries")
    assert set(got) == events
    duplicates = sum(n - 1 for n in Counter(got).values())
    assert duplicates <= 4 * 25  # at most the batch in flight at each of the four kills
