"""Several relays on one PostgreSQL share the work without publishing a row twice."""

from __future__ import annotations

import signal

import pytest

from outbox.models import OutboxEvent
from tests.relay.bulk import pending_rows_insert, queued_message_ids
from tests.relay.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("relays", [2, 4])
def test_several_relays_publish_each_of_20000_events_once(processes, redis_url, relays):
    pending_rows_insert(20_000)
    started = [processes.relay("--batch-size", "200") for _ in range(relays)]
    wait_for(
        lambda: not OutboxEvent.objects.filter(state="pending").exists(), timeout=120, interval=0.5, what="drained"
    )
    for relay in started:
        relay.send_signal(signal.SIGTERM)
    for relay in started:
        assert relay.wait(timeout=30) == 0, processes.output(relay)[-2000:]
    ids = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    queued = queued_message_ids(redis_url)
    assert set(queued) == ids
    assert max(queued.values()) == 1  # none twice
    assert sum(queued.values()) == 20_000
    outputs = [processes.output(relay) for relay in started]
    assert all('"published": ' in output for output in outputs), "every relay took a share"
