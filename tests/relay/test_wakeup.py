"""A commit wakes the relay within milliseconds; polling (here 30 s) is only the fallback."""

from __future__ import annotations

import time

import pytest
import redis
from django.db import transaction

from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("mode", ["notify", "redis"])
def test_commit_wakes_the_relay(processes, redis_url, settings, mode):
    settings.OUTBOX = {**settings.OUTBOX, "WAKEUP": mode}
    project = ProjectFactory()
    relay = processes.relay(OUTBOX_POLL_INTERVAL="30", OUTBOX_WAKEUP=mode)
    wait_for(lambda: "outbox.relay_started" in processes.output(relay), what="relay up")
    time.sleep(1.0)  # past the start-up catch-up claim: from here on only a wake-up can help
    client = redis.Redis.from_url(redis_url)
    latencies = []
    for expected in range(1, 6):
        with transaction.atomic():
            services.generated_project_create(project=project)
            services.generated_project_create(project=project)  # two rows, one wake-up
        committed = time.monotonic()
        wait_for(lambda n=expected: client.hlen("dramatiq:codegen-events.msgs") >= 2 * n, timeout=5, interval=0.002)
        latencies.append(time.monotonic() - committed)
    assert max(latencies) < 1.0, latencies  # far below the 30 s poll


def test_rolled_back_transaction_sends_no_redis_wakeup(redis_url, settings):
    settings.OUTBOX = {**settings.OUTBOX, "WAKEUP": "redis"}
    project = ProjectFactory()
    subscriber = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe("outbox:wakeup")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.generated_project_create(project=project)
        raise RuntimeError
    with transaction.atomic():
        services.generated_project_create(project=project)
        services.generated_project_create(project=project)
    messages = []
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        message = subscriber.get_message(timeout=0.1)
        if message:
            messages.append(message)
    assert len(messages) == 1  # one per committed transaction, none for the rolled-back one
