"""The worker's metrics count what happened: each message's outcome and lag, each delivery's outcome and
tries, each group commit's size; the multiprocess directory keeps only live processes' files."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from codegen_contracts import envelope_to_builtins
from notifications.delivery.runner import deliveries_send_due
from notifications.errors import PoisonEnvelope
from notifications.intake.consume import event_consume
from notifications.intake.group_commit import IntakeWriter
from notifications.intake.sweep import order_sweep
from notifications.models import Delivery
from notifications.worker_metrics import _remove_dead_processes_files
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.test_inbox import FakeMessage

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_outcome_is_counted_and_a_new_event_observes_its_lag():
    before = {o: sample("notifier_events_total", outcome=o) for o in ("processed", "duplicate", "poison")}
    lag_before = sample("notifier_event_lag_seconds_count")
    event = envelope_to_builtins(envelope(payload=generation_payload(notification_email=None)))
    event_consume(event, message=FakeMessage("m-1"))
    event_consume(event, message=FakeMessage("m-2"))
    with pytest.raises(PoisonEnvelope):
        event_consume({"nothing": "here"}, message=FakeMessage("m-3"))
    assert {o: sample("notifier_events_total", outcome=o) - before[o] for o in before} == dict.fromkeys(before, 1)
    assert sample("notifier_event_lag_seconds_count") == lag_before + 1  # the duplicate caused nothing


def test_an_event_that_waits_observes_its_lag_when_its_effects_commit():
    """The lag runs to the commit of the notification: for an event that waited for an earlier one, the commit of
    the arrival that released it, or of the sweep that gave up waiting."""
    aggregate, now = uuid.uuid4().hex, datetime.now(UTC)

    def event(sequence: int, occurred_at: datetime) -> dict:
        payload = generation_payload(notification_email=None)
        return envelope_to_builtins(
            envelope(aggregate_id=aggregate, sequence=sequence, occurred_at=occurred_at, payload=payload)
        )

    count, total = sample("notifier_event_lag_seconds_count"), sample("notifier_event_lag_seconds_sum")
    assert event_consume(event(2, now - timedelta(hours=1)), message=FakeMessage("m-2")).status == "waiting"
    assert sample("notifier_event_lag_seconds_count") == count  # nothing took effect yet
    assert event_consume(event(1, now), message=FakeMessage("m-1")).released_occurred_at
    assert sample("notifier_event_lag_seconds_count") == count + 2
    assert 3600 <= sample("notifier_event_lag_seconds_sum") - total < 3600 + 60  # the hour the second waited

    assert event_consume(event(4, now), message=FakeMessage("m-4")).status == "waiting"  # 3 never comes
    assert sample("notifier_event_lag_seconds_count") == count + 2
    assert order_sweep(wait=0).released == 1
    assert sample("notifier_event_lag_seconds_count") == count + 3


def delivery_attempt_once(delivery_id: int):
    assert deliveries_send_due(limit=1) == 1
    return Delivery.objects.get(pk=delivery_id)


def test_a_delivery_counts_its_outcome_and_tries(smtp_sink, fast_sends):
    from notifications.intake.inbox import inbox_take

    delivered = sample("notifier_deliveries_total", channel="email", outcome="delivered")
    tries = sample("notifier_delivery_attempts_sum", channel="email")
    outcomes = sample("notifier_delivery_attempt_outcomes_total", channel="email", verdict="delivered")
    [delivery_id] = inbox_take(envelope()).delivery_ids
    assert delivery_attempt_once(delivery_id).status == "delivered"
    assert sample("notifier_deliveries_total", channel="email", outcome="delivered") == delivered + 1
    assert sample("notifier_delivery_attempts_sum", channel="email") == tries + 1
    assert sample("notifier_delivery_attempt_outcomes_total", channel="email", verdict="delivered") == outcomes + 1


def test_a_group_commit_observes_its_batch_size():
    from codegen_contracts import envelope_read

    before = sample("notifier_intake_batch_size_count")
    writer = IntakeWriter(max_batch=8)
    try:
        writer.take(envelope_read(envelope_to_builtins(envelope(payload=generation_payload(notification_email=None)))))
    finally:
        writer.stop()
    assert sample("notifier_intake_batch_size_count") == before + 1


def test_boot_removes_only_the_files_of_processes_no_longer_running(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, live_pid = int(gone.stdout), os.getpid()
    for name in (f"counter_{dead_pid}.db", f"histogram_{dead_pid}.db", f"counter_{live_pid}.db", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    _remove_dead_processes_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{live_pid}.db", "notes.txt"]
