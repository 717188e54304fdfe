"""Guarantee 3 under failures: broker outages, database restarts, poison rows, clock skew."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.db import connection

from codegen_config import RedisTarget
from devinfra.postgres import PostgresServer
from outbox import store
from outbox.config import OutboxConfig
from outbox.models import OutboxEvent
from outbox.publisher import DramatiqRedisPublisher
from outbox.relay import Relay
from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import MANAGE, give_back_held_messages, received, wait_for
from tests.relay.test_publish import make_events

pytestmark = pytest.mark.django_db(transaction=True)

#: How long Redis stays down.
OUTAGE_SECONDS = float(__import__("os").environ.get("TEST_OUTAGE_SECONDS", "30"))

FAST_RETRY = {
    "OUTBOX_PUBLISH_TIMEOUT": "1",
    "OUTBOX_PUBLISH_RETRY_ATTEMPTS": "2",
    "OUTBOX_PUBLISH_RETRY_MAX_WAIT": "0.2",
    "OUTBOX_BACKOFF_BASE": "0.5",
    "OUTBOX_BACKOFF_MAX": "2",
    "OUTBOX_MAX_ATTEMPTS": "1000",
}


def steady_writer(stop: threading.Event, rate: float = 50.0) -> threading.Thread:
    project = ProjectFactory()

    def write() -> None:
        while not stop.is_set():
            services.generated_project_create(project=project)
            time.sleep(1 / rate)
        connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_redis_down_for_30_seconds_under_load_loses_nothing(processes, redis_url, redis_server):
    relay = processes.relay("--batch-size", "50", **FAST_RETRY)
    worker = processes.worker()
    stop = threading.Event()
    writer = steady_writer(stop)
    try:
        wait_for(lambda: OutboxEvent.objects.filter(state="published").exists(), what="flowing before the outage")
        redis_server.halt()
        time.sleep(OUTAGE_SECONDS)
        assert relay.poll() is None, "the relay must ride out the outage"
        backlog = OutboxEvent.objects.filter(state="pending").count()
        assert backlog > 0
        published_before = OutboxEvent.objects.filter(state="published").count()
        redis_server.start()
        wait_for(
            lambda: OutboxEvent.objects.filter(state="published").count() > published_before,
            timeout=30,
            what="publishing again after the outage, under load",
        )
    finally:
        stop.set()
        writer.join()
    try:
        wait_for(
            lambda: not OutboxEvent.objects.exclude(state="published").exists(), timeout=60, what="backlog drained"
        )
    finally:
        if relay.poll() is None:
            relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    assert relay.returncode == 0, processes.output(relay)[-3000:]
    # an outage it rode out is warnings of one line each: nothing CRITICAL, no traceback
    log = processes.output(relay)
    assert "publish gave up after" in log and "Traceback" not in log and "CRITICAL" not in log, log[-3000:]
    events = {str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)}
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.llen("dramatiq:codegen-events") == 0, timeout=60, what="the queue drained")
    worker.send_signal(signal.SIGTERM)  # the outage may have left messages held by it (see below)
    worker.wait(timeout=30)
    give_back_held_messages(redis_url)
    processes.worker()
    got = wait_for(lambda: (r := received(redis_url)) and set(r) >= events and r, timeout=60, what="all deliveries")
    assert set(got) == events
    assert client.hlen("dramatiq:codegen-events.XQ.msgs") == 0  # nothing dead-lettered
    assert not OutboxEvent.objects.filter(state="dead").exists()
    client.close()


def test_postgresql_restarted_under_the_relay(redis_server, redis_url, tmp_path):
    """A separate cluster, restarted while a relay runs on it: the relay reconnects and goes on."""
    pg = PostgresServer().start()
    try:
        url = pg.create_database("restart")
        env = {
            **processes_env(),
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "OUTBOX_POLL_INTERVAL": "0.2",
        }
        subprocess.run([sys.executable, str(MANAGE), "migrate", "-v0"], env=env, check=True, timeout=120)
        make = [sys.executable, "-m", "tests.relay.make_events"]
        subprocess.run([*make, "20"], env=env, check=True, timeout=60)
        log = tmp_path / "relay.log"
        relay = subprocess.Popen(
            [sys.executable, str(MANAGE), "outbox_relay"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        try:
            client = redis.Redis.from_url(redis_url)
            wait_for(lambda: client.hlen("dramatiq:codegen-events.msgs") >= 20, what="first 20 published")
            pg.stop_keep()
            time.sleep(3)
            pg.start_again()
            subprocess.run([*make, "20"], env=env, check=True, timeout=60)
            wait_for(
                lambda: client.hlen("dramatiq:codegen-events.msgs") >= 40, timeout=60, what="20 more after restart"
            )
            assert relay.poll() is None
        finally:
            relay.send_signal(signal.SIGTERM)
            relay.wait(timeout=30)
        output = log.read_text()
        assert relay.returncode == 0, output
        assert "database unavailable" in output
    finally:
        pg.stop()


def processes_env() -> dict[str, str]:
    import os

    from tests.relay.conftest import REPO

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.test",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
    }


def relay_for(redis_url: str, **overrides) -> Relay:
    config = OutboxConfig.from_settings(redis=RedisTarget(url=redis_url), **overrides)
    return Relay(config, DramatiqRedisPublisher(config.redis, timeout=config.publish_timeout))


def test_a_row_that_always_fails_ends_dead_while_the_rest_flow(redis_url):
    events = make_events(20)
    poison = OutboxEvent.objects.order_by("id").first()
    OutboxEvent.objects.filter(pk=poison.pk).update(payload={"project_id": "not an id"})
    relay = relay_for(redis_url, max_attempts=3, backoff_base=0.01, backoff_max=0.02, batch_size=5, sweep_interval=0.0)
    wait_for(lambda: relay.step() and OutboxEvent.objects.get(pk=poison.pk).state == "dead", what="poison row dead")
    relay.drain()
    poison.refresh_from_db()
    assert poison.state == "dead" and poison.attempts == 3
    assert "project_id" in poison.last_error
    published = set(map(str, OutboxEvent.objects.filter(state="published").values_list("event_id", flat=True)))
    assert published == set(events) - {str(poison.event_id)}
    client = redis.Redis.from_url(redis_url)
    assert client.hlen("dramatiq:codegen-events.msgs") == 19


@pytest.mark.parametrize("skew", [timedelta(hours=3), -timedelta(hours=3)], ids=["ahead", "behind"])
def test_broker_failure_backs_off_by_the_database_clock_whatever_the_relay_clock(redis_url, monkeypatch, skew):
    make_events(3)
    unreachable = OutboxConfig.from_settings(
        redis=RedisTarget(url="redis://127.0.0.1:1/0"), publish_retry_attempts=1, backoff_base=4.0, backoff_max=4.0,
        publish_timeout=0.5,
    )  # fmt: skip

    def skewed_clock() -> float:
        return time.monotonic() + skew.total_seconds()

    monkeypatch.setattr("outbox.relay.timezone.now", lambda: connection_now() + skew)
    relay = Relay(unreachable, DramatiqRedisPublisher(unreachable.redis, timeout=0.5), clock=skewed_clock)
    outcome = relay.step()
    assert outcome.claimed == 3 and outcome.retried == 3
    now = connection_now()
    for row in OutboxEvent.objects.all():
        assert row.attempts == 1 and "Connection" in row.last_error
        # backoff is 2–4 s after the failure on the database's clock, whatever the relay's says
        assert timedelta(seconds=1.5) <= row.next_attempt_at - now <= timedelta(seconds=4.1)
    assert relay.step().claimed == 0  # nothing early

    working = relay_for(redis_url)
    working.clock = skewed_clock
    wait_for(lambda: (working.step(), _all_published())[1], timeout=10, what="published after backoff")
    assert redis.Redis.from_url(redis_url).hlen("dramatiq:codegen-events.msgs") == 3


def _all_published() -> bool:
    return not OutboxEvent.objects.exclude(state="published").exists()


def connection_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def test_stuck_lease_comes_back_after_it_expires(redis_url):
    make_events(4)
    store.outbox_rows_claim(limit=4, lease_seconds=1.0)
    relay = relay_for(redis_url, sweep_interval=0.0)
    assert relay.step().claimed == 0  # leased by someone else (who died)
    wait_for(lambda: relay.step().published == 4, timeout=10, what="lease expiry")
    assert Counter(OutboxEvent.objects.values_list("state", flat=True)) == {"published": 4}


def test_settling_gives_up_at_once_when_the_relay_is_asked_to_stop():
    # given a relay whose database is down while it settles a batch, with a long lease
    from django.db import OperationalError

    relay = Relay(OutboxConfig.from_settings(lease_seconds=600, publish_timeout=5), publisher=None)  # type: ignore[arg-type]
    attempts: list[float] = []

    def settle() -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 3:
            relay.stop()  # SIGTERM arrives while it waits to try again
        raise OperationalError("the database is restarting")

    # when it is asked to stop, then it stops retrying (the rows stay leased for another relay)
    with pytest.raises(OperationalError):
        relay._settle_db(settle)
    assert len(attempts) == 3
