"""A commit wakes the relay within milliseconds; polling is the fallback, and the relay says when it is all it gets."""

from __future__ import annotations

import time

import pytest
import redis
from django.db import transaction

from outbox.wakeup import MISSED_WAKEUPS_POLLS, MISSED_WAKEUPS_WARN_EVERY, MissedWakeups
from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import wait_for


@pytest.mark.django_db(transaction=True)
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
    assert "outbox.wakeup_missing" not in processes.output(relay)


@pytest.mark.django_db(transaction=True)
def test_relay_warns_when_writers_signal_another_way(processes, redis_url, settings):
    # given writers that NOTIFY and a relay that listens on Redis, polling every 0.2 s
    settings.OUTBOX = {**settings.OUTBOX, "WAKEUP": "notify"}
    project = ProjectFactory()
    relay = processes.relay(OUTBOX_POLL_INTERVAL="0.2", OUTBOX_WAKEUP="redis")
    wait_for(lambda: "outbox.relay_started" in processes.output(relay), what="relay up")
    client = redis.Redis.from_url(redis_url)
    # when commits keep coming, each found only by a poll
    for expected in range(1, MISSED_WAKEUPS_POLLS + 2):
        with transaction.atomic():
            services.generated_project_create(project=project)
        wait_for(lambda n=expected: client.hlen("dramatiq:codegen-events.msgs") >= n, timeout=5, interval=0.01)
    # then everything is published, and the relay says why it is slow, once
    wait_for(lambda: "outbox.wakeup_missing" in processes.output(relay), timeout=5, what="the warning")
    assert processes.output(relay).count("outbox.wakeup_missing") == 1


@pytest.mark.django_db(transaction=True)
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_missed_wakeups_warn_after_several_polls_that_find_new_rows():
    watch = MissedWakeups("notify", clock=FakeClock())
    said = [watch.observe(polled=True, fresh_rows=1) for _ in range(MISSED_WAKEUPS_POLLS)]
    assert said == [False] * (MISSED_WAKEUPS_POLLS - 1) + [True]


def test_missed_wakeups_a_wakeup_or_retries_alone_do_not_warn():
    watch = MissedWakeups("notify", clock=FakeClock())
    for _ in range(5):
        for _ in range(MISSED_WAKEUPS_POLLS - 1):
            assert not watch.observe(polled=True, fresh_rows=3)
        assert not watch.observe(polled=False, fresh_rows=3)  # a real wake-up: the signal works
    assert not any(watch.observe(polled=True, fresh_rows=0) for _ in range(10))  # retries come due by polling


def test_missed_wakeups_warn_at_most_every_interval():
    clock = FakeClock()
    watch = MissedWakeups("redis", clock=clock)
    said = [watch.observe(polled=True, fresh_rows=1) for _ in range(10 * MISSED_WAKEUPS_POLLS)]
    assert said.count(True) == 1
    clock.now += MISSED_WAKEUPS_WARN_EVERY
    assert watch.observe(polled=True, fresh_rows=1)  # still no wake-up in between: said again


def test_missed_wakeups_silent_without_wakeups():
    watch = MissedWakeups("none", clock=FakeClock())
    assert not any(watch.observe(polled=True, fresh_rows=1) for _ in range(10))
