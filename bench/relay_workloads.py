"""Workloads of the relay: drain rate against a physical-limit loop and a naive relay, commit-to-queue
latency, scaling over several relays, and throughput while vacuum is held back."""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import redis

from bench.cpu import process_cpu_seconds
from bench.harness import Measurement, Workload

REPO = Path(__file__).resolve().parent.parent
MANAGE = REPO / "services" / "projects" / "manage.py"
QUEUE = "dramatiq:codegen-events"


def _cursor():  # type: ignore[no-untyped-def]
    from django.db import connection

    return connection.cursor()


def rows_insert(count: int) -> None:
    """``count`` pending rows, due now, the same payload for every arm."""
    from devinfra.outbox_rows import pending_rows_insert

    pending_rows_insert(count)


def table_reset(redis_url: str) -> None:
    with _cursor() as cursor:
        cursor.execute("TRUNCATE outbox_event")
        cursor.execute("VACUUM ANALYZE outbox_event")
    redis.Redis.from_url(redis_url).flushall()


def _relay(batch_size: int = 500):  # type: ignore[no-untyped-def]
    from outbox.config import OutboxConfig
    from outbox.publisher import DramatiqRedisPublisher
    from outbox.relay import Relay

    config = OutboxConfig.from_settings(batch_size=batch_size, heartbeat_interval=3600, retention_interval=3600)
    return Relay(config, DramatiqRedisPublisher(config.redis, namespace=config.namespace))


def relay_drain_rate(count: int, redis_url: str) -> float:
    """Events/s of the real relay draining ``count`` rows."""
    table_reset(redis_url)
    rows_insert(count)
    return timed_drain(_relay(), count)


def timed_drain(relay, count: int) -> float:  # type: ignore[no-untyped-def]
    """Events/s of ``relay`` draining the ``count`` pending rows there are (it is closed after)."""
    start = time.perf_counter()
    published = relay.drain(housekeeping=False).published
    elapsed = time.perf_counter() - start
    relay.publisher.close()
    assert published == count, (published, count)
    return count / elapsed


def limit_loop_rate(count: int, redis_url: str) -> float:
    """Events/s of the physical limit: raw SQL claim, raw pipelined enqueue, raw mark; no framework."""
    import psycopg
    from django.db import connection

    table_reset(redis_url)
    rows_insert(count)
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    client = redis.Redis.from_url(redis_url)
    from dramatiq.brokers.redis import _scripts

    from codegen_contracts import EVENTS_QUEUE, enqueue_script_args, message_encode, wire_envelope_from_row
    from outbox.store import PG_WIRE_COLUMNS

    sha = client.script_load(_scripts["dispatch"])
    broker_id = str(uuid.uuid4())
    published = 0
    start = time.perf_counter()
    returning = ", ".join(f"{expression} AS {name}" for name, expression in PG_WIRE_COLUMNS.items())
    with psycopg.connect(**params, autocommit=True) as conn:
        while True:
            cursor = conn.execute(
                f"""
                WITH due AS (SELECT id FROM outbox_event WHERE state = 'pending' AND next_attempt_at <= now()
                             ORDER BY next_attempt_at, id LIMIT 500 FOR UPDATE SKIP LOCKED)
                UPDATE outbox_event o SET claimed_at = now() FROM due WHERE o.id = due.id
                RETURNING o.id, {returning}
                """
            )
            names = [column.name for column in cursor.description or ()]
            rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
            if not rows:
                break
            now_ms = int(time.time() * 1000)
            pipe = client.pipeline(transaction=False)
            for row in rows:
                redis_id = str(row["id"])
                message = message_encode(wire_envelope_from_row(row), redis_message_id=redis_id, timestamp_ms=now_ms)
                args = enqueue_script_args(
                    queue_name=EVENTS_QUEUE, redis_message_id=redis_id, data=message, now_ms=now_ms,
                    broker_id=broker_id, heartbeat_timeout_ms=60000, dead_message_ttl_ms=604800000,
                )  # fmt: skip
                pipe.evalsha(sha, 1, "dramatiq", *args)
            pipe.execute()
            conn.execute(
                "UPDATE outbox_event SET state = 'published', published_at = now() WHERE id = ANY(%s)",
                [[row["id"] for row in rows]],
            )
            published += len(rows)
    elapsed = time.perf_counter() - start
    client.close()
    assert published == count
    return count / elapsed


def naive_relay_rate(count: int, redis_url: str) -> float:
    """Events/s of a naive relay: one row per transaction, ``actor.send()`` per row, row-by-row UPDATE."""
    import dramatiq
    from django.db import transaction
    from django.utils import timezone
    from dramatiq.brokers.redis import RedisBroker

    from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE
    from outbox.models import OutboxEvent
    from outbox.store import outbox_row_wire_envelope

    table_reset(redis_url)
    rows_insert(count)
    broker = RedisBroker(url=redis_url)
    actor = dramatiq.Actor(
        lambda envelope: None, broker=broker, actor_name=EVENTS_ACTOR, queue_name=EVENTS_QUEUE, priority=0, options={}
    )
    start = time.perf_counter()
    published = 0
    while True:
        with transaction.atomic():
            row = (
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(state="pending", next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at", "id")
                .first()
            )
            if row is None:
                break
            envelope = msgspec.json.decode(msgspec.json.encode(outbox_row_wire_envelope(row)))
            actor.send_with_options(args=(envelope,), message_id=str(row.event_id))
            row.state = "published"
            row.published_at = timezone.now()
            row.save(update_fields=["state", "published_at"])
            published += 1
    elapsed = time.perf_counter() - start
    broker.close()
    assert published == count
    return count / elapsed


def drain_workloads(count: int, naive_count: int, redis_url: str) -> list[Workload]:
    return [
        Workload(
            name="relay_drain_vs_limit",
            description=f"Drain {count:,} pending rows: the relay (claim, validate, encode, pipelined enqueue, "
            "settle) vs a physical-limit loop on the same payloads (raw SQL claim, raw pipelined enqueue of "
            "pre-formatted messages, raw mark). Higher is better.",
            baseline_label="limit loop",
            subject_label="relay",
            baseline=lambda: limit_loop_rate(count, redis_url),
            subject=lambda: relay_drain_rate(count, redis_url),
            target=(">=", 0.6),
            unit="events/s",
            warmup=False,
        ),
        Workload(
            name="relay_drain_vs_naive",
            description=f"The relay draining {count:,} rows vs a naive relay ({naive_count:,} rows: one row per "
            "transaction, actor.send() per row, UPDATE per row). Higher is better.",
            baseline_label="naive relay",
            subject_label="relay",
            baseline=lambda: naive_relay_rate(naive_count, redis_url),
            subject=lambda: relay_drain_rate(count, redis_url),
            target=(">=", 5.0),
            unit="events/s",
            warmup=False,
        ),
    ]


# --- relays as processes ----------------------------------------------------------------------


def _env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """A relay's environment: it listens for wake-ups the way this process currently signals them."""
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
        "OUTBOX_WAKEUP": str(settings.OUTBOX["WAKEUP"]),
        **extra,
    }


def _start_relays(n: int, env: dict[str, str], log: Path | None = None) -> list[subprocess.Popen[bytes]]:
    """``n`` relay processes; their output goes to ``log`` (appended) when given."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed once the children have it
    try:
        return [
            subprocess.Popen([sys.executable, str(MANAGE), "outbox_relay"], env=env, stdout=output, stderr=output)
            for _ in range(n)
        ]
    finally:
        if log:
            output.close()  # type: ignore[union-attr]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def _pending() -> int:
    with _cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outbox_event WHERE state = 'pending'")
        return int(cursor.fetchone()[0])


def _queue_watch(redis_url: str, arrived: dict[str, float], stop: threading.Event) -> None:
    """Pop every message off the events queue as it lands and note when (wall clock)."""
    watcher = redis.Redis.from_url(redis_url)
    while True:
        item = watcher.blpop([QUEUE], timeout=0.5)
        if item is None:
            if stop.is_set():
                return
            continue
        seen = time.time()
        arrived[json.loads(watcher.hget(f"{QUEUE}.msgs", item[1]))["message_id"]] = seen


def _wait_listening(mode: str, redis_url: str, timeout: float = 30.0) -> None:
    """Wait until a relay's wake-up listener is subscribed (nothing to wait for with ``none``)."""
    from outbox.wakeup import NOTIFY_CHANNEL, REDIS_CHANNEL

    if mode == "none":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mode == "redis":
            client = redis.Redis.from_url(redis_url)
            listening = client.pubsub_numsub(REDIS_CHANNEL)[0][1] >= 1
            client.close()
        else:
            with _cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query = %s", [f"LISTEN {NOTIFY_CHANNEL}"])
                listening = cursor.fetchone()[0] >= 1
        if listening:
            return
        time.sleep(0.05)
    raise RuntimeError(f"no relay listening for {mode} wake-ups after {timeout} s")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ascending values (nearest rank)."""
    return sorted_values[max(0, math.ceil(len(sorted_values) * fraction) - 1)]


def _latencies(mode: str, database_url: str, redis_url: str, seconds: float, rate: float) -> list[float]:
    """Milliseconds from commit to the message landing on the queue, one per event, in order.

    The bench process writes with wake-up ``mode`` and the relay listens with it; the setting the
    process had before (the environment's) is restored afterwards.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from projects import services
    from projects.models import Project

    table_reset(redis_url)
    owner, _ = get_user_model().objects.get_or_create(username="latency")
    project = Project.objects.create(owner=owner, name="latency")
    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    with override_settings(OUTBOX={**settings.OUTBOX, "WAKEUP": mode}):
        relays = _start_relays(1, _env(database_url, redis_url, OUTBOX_POLL_INTERVAL="1"))
        _wait_listening(mode, redis_url)
        stop = threading.Event()
        watcher = threading.Thread(target=_queue_watch, args=(redis_url, arrived, stop))
        watcher.start()
        next_at = time.perf_counter()
        end = next_at + seconds
        while next_at < end:
            generated = services.generated_project_create(project=project)
            committed_at = time.time()
            with _cursor() as cursor:
                cursor.execute(
                    "SELECT event_id::text FROM outbox_event WHERE aggregate_id = %s AND sequence = 1",
                    [str(generated.pk)],
                )
                committed[cursor.fetchone()[0]] = committed_at
            next_at += 1.0 / rate
            time.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.monotonic() + 10
        while len(arrived) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        watcher.join(timeout=30)
        _stop(relays)
    return sorted((arrived[e] - committed[e]) * 1000 for e in committed if e in arrived)


def latency_measurements(database_url: str, redis_url: str, seconds: float, rate: float = 200.0) -> list[Measurement]:
    """Commit → message on the queue at ``rate`` events/s, with each wake-up mode and with none."""
    results = []
    for mode, p50_target, p99_target in [("notify", 10.0, 20.0), ("redis", 10.0, 20.0), ("none", None, None)]:
        latencies = _latencies(mode, database_url, redis_url, seconds, rate)
        note = f"{len(latencies)} events at {rate:.0f}/s, wake-up {mode}" + (", poll 1 s" if mode == "none" else "")
        for name, value, target in [
            ("p50", statistics.median(latencies), p50_target),
            ("p99", percentile(latencies, 0.99), p99_target),
            ("p99.9", percentile(latencies, 0.999), None),
        ]:
            results.append(Measurement(f"latency_{name}_wakeup_{mode}", value, "ms", target and ("<=", target), note))
    return results


def scale_measurements(database_url: str, redis_url: str, count: int) -> list[Measurement]:
    """Throughput and relay CPU per event with 1, 2 and 4 relay processes draining ``count`` rows.

    The relays are started and idle before the rows appear, so start-up is not measured.
    """
    results = []
    for n in (1, 2, 4):
        table_reset(redis_url)
        relays = _start_relays(n, _env(database_url, redis_url, OUTBOX_BATCH_SIZE="500"))
        time.sleep(3.0)  # all up and idle
        before = sum(process_cpu_seconds(p.pid) for p in relays)
        start = time.perf_counter()
        rows_insert(count)  # one commit: the NOTIFY wakes every relay at once
        while _pending():
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        cpu = sum(process_cpu_seconds(p.pid) for p in relays) - before
        _stop(relays)
        note = f"{count:,} rows inserted in one transaction, then drained"
        results.append(Measurement(f"scale_{n}_relays_throughput", count / elapsed, "events/s", None, note))
        results.append(
            Measurement(f"scale_{n}_relays_cpu_per_event", cpu / count * 1e6, "µs CPU/event", None, "relay processes")
        )
    return results


def _sustained_rate(seconds: float, chunk: int, redis_url: str, hold: Callable[[], object] | None) -> float:
    """Events/s over ``seconds`` of insert-then-drain cycles, with ``hold`` keeping vacuum back."""
    table_reset(redis_url)
    relay = _relay()
    holder = hold() if hold else None
    published = 0
    busy = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        rows_insert(chunk)
        start = time.perf_counter()
        published += relay.drain(housekeeping=False).published
        busy += time.perf_counter() - start
        redis.Redis.from_url(redis_url).flushall()
    relay.publisher.close()
    if holder is not None:
        holder.close()  # type: ignore[attr-defined]
    return published / busy


def bloat_workload(seconds: float, chunk: int, redis_url: str) -> Workload:
    import psycopg
    from django.db import connection

    def hold_snapshot():  # type: ignore[no-untyped-def]
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
            params.pop(key, None)
        conn = psycopg.connect(**params)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT count(*) FROM pg_class").fetchone()  # the snapshot pins xmin for every table
        return conn

    return Workload(
        name="relay_under_held_vacuum",
        description=f"Sustained insert-and-drain cycles of {chunk:,} rows for {seconds:.0f} s, relay drain rate; "
        "subject with another transaction holding a snapshot (vacuum cannot remove dead rows) the whole time. "
        "Higher is better.",
        baseline_label="clean",
        subject_label="vacuum held back",
        baseline=lambda: _sustained_rate(seconds, chunk, redis_url, None),
        subject=lambda: _sustained_rate(seconds, chunk, redis_url, hold_snapshot),
        target=(">=", 0.65),
        unit="events/s",
        warmup=False,
    )
