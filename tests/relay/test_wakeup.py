"""A commit wakes the relay within milliseconds; polling is the fallback, and the relay says when it is all it gets."""

from __future__ import annotations

import time

import pytest
import redis
from django.db import connection, transaction

from outbox import ops
from outbox.filters import OutboxFilter
from outbox.models import OutboxEvent
from outbox.wakeup import MISSED_WAKEUPS_POLLS, MISSED_WAKEUPS_WARN_EVERY, NOTIFY_CHANNEL, REDIS_CHANNEL, MissedWakeups
from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import wait_for


def listening(mode: str, redis_url: str) -> bool:
    """Whether a relay's wake-up listener is subscribed (so a signal from now on reaches it)."""
    if mode == "redis":
        client = redis.Redis.from_url(redis_url)
        try:
            return client.pubsub_numsub(REDIS_CHANNEL)[0][1] >= 1
        finally:
            client.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query = %s", [f"LISTEN {NOTIFY_CHANNEL}"])
        return cursor.fetchone()[0] >= 1


def relay_listening(processes, redis_url: str, mode: str, poll_interval: str):  # type: ignore[no-untyped-def]
    """A relay waking up by ``mode``, polling every ``poll_interval`` s, up and listening."""
    relay = processes.relay(OUTBOX_POLL_INTERVAL=poll_interval, OUTBOX_WAKEUP=mode)
    wait_for(lambda: "outbox.relay_started" in processes.output(relay), what="relay up")
    wait_for(lambda: listening(mode, redis_url), what=f"the relay listening for {mode} wake-ups")
    return relay


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["notify", "redis"])
def test_commit_wakes_the_relay(processes, redis_url, settings, mode):
    settings.OUTBOX = {**settings.OUTBOX, "WAKEUP": mode}
    project = ProjectFactory()
    relay = relay_listening(processes, redis_url, mode, poll_interval="30")
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
    relay = relay_listening(processes, redis_url, "redis", poll_interval="0.2")
    client = redis.Redis.from_url(redis_url)
    # when commits keep coming, each found only by a poll (the listener's one catch-up wake-up, at
    # subscription, may reset the count once: so up to twice the polls it takes, until it warns)
    for expected in range(1, 2 * MISSED_WAKEUPS_POLLS + 2):
        if "outbox.wakeup_missing" in processes.output(relay):
            break
        with transaction.atomic():
            services.generated_project_create(project=project)
        wait_for(lambda n=expected: client.hlen("dramatiq:codegen-events.msgs") >= n, timeout=10, interval=0.01)
    # then everything is published, and the relay says why it is slow, once
    wait_for(lambda: "outbox.wakeup_missing" in processes.output(relay), timeout=10, what="the warning")
    assert processes.output(relay).count("outbox.wakeup_missing") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["notify", "redis"])
@pytest.mark.parametrize("new_ids", [False, True], ids=["same-id", "new-id"])
def test_a_replay_wakes_the_relays(processes, redis_url, settings, mode, new_ids):
    # given a dead row and a relay that polls only every 30 s
    settings.OUTBOX = {**settings.OUTBOX, "WAKEUP": mode}
    services.generated_project_create(project=ProjectFactory())
    OutboxEvent.objects.update(state="dead", attempts=10, last_error="broker outage")
    relay_listening(processes, redis_url, mode, poll_interval="30")
    # when an operator replays it
    replayed = time.monotonic()
    result = ops.outbox_replay(
        outbox_filter=OutboxFilter(state="dead"), reason="wake-up test", actor="test", source="cli", new_ids=new_ids
    )
    assert result.replayed == 1
    # then it is published within the wake-up's latency, not at the next poll
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.hlen("dramatiq:codegen-events.msgs") == 1, timeout=5, interval=0.002, what="published")
    assert time.monotonic() - replayed < 2.0
    wait_for(lambda: not OutboxEvent.objects.filter(state="pending").exists(), timeout=5, what="marked published")
    expected_state = {"dead"} if new_ids else set()
    assert set(OutboxEvent.objects.exclude(state="published").values_list("state", flat=True)) == expected_state


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
