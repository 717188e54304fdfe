"""Running the relay: clean stop, SQLite's single relay, Redis durability warnings, metrics, retention."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest
import redis

from devinfra.ports import free_port
from outbox import store
from outbox.models import OutboxEvent, OutboxRelay
from tests.relay.bulk import pending_rows_insert, queued_message_ids
from tests.relay.conftest import MANAGE, REPO, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_sigterm_finishes_the_batch_in_hand_and_exits_zero(processes, redis_url):
    pending_rows_insert(5000)
    relay = processes.relay("--batch-size", "100")
    wait_for(lambda: OutboxEvent.objects.filter(state="published").exists(), what="publishing started")
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=30) == 0
    output = processes.output(relay)
    assert "outbox.relay_stopped" in output
    # nothing left leased: every row is either published or free for the next relay
    assert not OutboxEvent.objects.filter(state="pending", leased_until__isnull=False).exists()
    published = OutboxEvent.objects.filter(state="published").count()
    assert sum(queued_message_ids(redis_url).values()) == published
    heartbeat = OutboxRelay.objects.get()
    assert heartbeat.stopped_at is not None and heartbeat.published_total == published


def test_once_drains_and_exits(processes, redis_url):
    pending_rows_insert(1200)
    result = processes.run([*processes.relay_args(), "--once", "--batch-size", "500"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "event": "outbox.drained", "published": 1200, "failed": 0, "retried": 0, "dead": 0,
    }  # fmt: skip
    assert sum(queued_message_ids(redis_url).values()) == 1200


def test_once_that_publishes_nothing_exits_1_and_says_what_was_left(processes):
    pending_rows_insert(5)
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = processes.run(
        [*processes.relay_args(), "--once"], REDIS_URL=unreachable,
        OUTBOX_PUBLISH_RETRY_ATTEMPTS="2", OUTBOX_PUBLISH_RETRY_MAX_WAIT="0.1", OUTBOX_PUBLISH_TIMEOUT="1",
    )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["published"], summary["failed"]) == (0, 5)
    assert "CommandError: 5 rows not published (5 to retry, 0 dead)" in result.stderr
    assert OutboxEvent.objects.filter(state="pending").count() == 5  # kept, to be published later
    assert OutboxRelay.objects.get().stopped_at is not None  # outbox status no longer calls it running


def sqlite_project(tmp_path, redis_url: str) -> dict[str, str]:
    """Environment of a projects service on a new, migrated SQLite database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
    }
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v0"], env=env, check=True, timeout=120)
    return env


def test_a_second_relay_on_sqlite_refuses_to_start(redis_url, tmp_path):
    env = sqlite_project(tmp_path, redis_url)
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        [sys.executable, str(MANAGE), "outbox_relay"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: "outbox.relay_started" in (tmp_path / "first.log").read_text(), what="first relay up")
        second = subprocess.run(
            [sys.executable, str(MANAGE), "outbox_relay"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode != 0
        assert "another outbox relay is already running" in second.stderr
        assert "SQLite has no SELECT ... SKIP LOCKED" in second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0


def test_sqlite_relay_publishes(redis_url, tmp_path):
    env = sqlite_project(tmp_path, redis_url)
    subprocess.run([sys.executable, "-m", "tests.relay.make_events", "7"], env=env, check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, str(MANAGE), "outbox_relay", "--once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert '"published": 7' in result.stdout
    assert sum(queued_message_ids(redis_url).values()) == 7


def test_relay_warns_when_redis_could_evict_or_forget(processes, redis_url):
    client = redis.Redis.from_url(redis_url)
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.config_set("appendonly", "no")
    try:
        result = processes.run([*processes.relay_args(), "--once"])
    finally:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("appendonly", "yes")
    assert result.returncode == 0
    assert "maxmemory-policy is 'allkeys-lru'" in result.stderr
    assert "appendonly is off" in result.stderr
    quiet = processes.run([*processes.relay_args(), "--once"])
    assert "outbox.redis_durability" not in quiet.stderr


def test_metrics_endpoint(processes, redis_url):
    pending_rows_insert(300)
    port = free_port()
    relay = processes.relay("--metrics-port", str(port), OUTBOX_HEARTBEAT_INTERVAL="0.2")

    def scrape() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                return response.read().decode()
        except OSError:
            return ""

    def ready() -> str:
        body = scrape()
        done = "outbox_published_total 300.0" in body and 'outbox_rows{state="published"} 300.0' in body
        return body if done else ""

    text = wait_for(ready, what="metrics after the batch and the next heartbeat")
    for name in [
        'outbox_rows{state="pending"}',
        'outbox_rows{state="published"}',
        'outbox_rows{state="dead"}',
        "outbox_oldest_pending_age_seconds",
        "outbox_publish_failures_total",
        "outbox_dead_total",
        "outbox_batch_duration_seconds_bucket",
    ]:
        assert name in text
    # every row was on its first try: each one's commit-to-enqueue lag observed once
    assert "outbox_publish_lag_seconds_count 300.0" in text, text
    relay.send_signal(signal.SIGTERM)
    relay.wait(timeout=30)


def test_retention_deletes_only_old_published_rows_in_batches(redis_url):
    pending_rows_insert(30)
    OutboxEvent.objects.filter(id__in=list(OutboxEvent.objects.values_list("id", flat=True)[:20])).update(
        state="published", published_at=store_now() - timedelta(days=2)
    )
    dead = OutboxEvent.objects.filter(state="pending").order_by("id").first()
    OutboxEvent.objects.filter(pk=dead.pk).update(state="dead", created_at=store_now() - timedelta(days=9))
    deleted = store.outbox_rows_purge_published(older_than=timedelta(days=1), batch=7)
    assert deleted == 20
    assert OutboxEvent.objects.filter(state="published").count() == 0
    assert OutboxEvent.objects.filter(state="dead").count() == 1
    assert OutboxEvent.objects.filter(state="pending").count() == 9


def store_now():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def test_relay_waits_idle_without_hammering_the_database(processes, redis_url):
    relay = processes.relay(OUTBOX_POLL_INTERVAL="1")
    wait_for(lambda: "outbox.relay_started" in processes.output(relay), what="relay up")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        before = cursor.fetchone()[0]
    time.sleep(3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        after = cursor.fetchone()[0]
    # about one claim per poll interval (plus a heartbeat): far from a busy loop
    assert after - before < 25
