"""Workloads of the notifier: consume rate with deduplication against a no-op actor, and end-to-end
latency from a committed REST change to the committed in-app notification."""

from __future__ import annotations

import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import dramatiq
import psycopg
import redis
from dramatiq.brokers.redis import RedisBroker

from bench.cpu import machine_busy_seconds
from bench.harness import Measurement
from bench.relay_workloads import percentile
from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, Envelope, enqueue_script_args, envelope_to_builtins

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def notifier_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")]),
        "LOG_LEVEL": "WARNING",
    }


def notifier_database(postgres, redis_url: str) -> str:  # type: ignore[no-untyped-def]
    url = postgres.create_database(f"notifier_{uuid.uuid4().hex[:6]}")
    subprocess.run(
        [sys.executable, str(REPO / "services" / "notifier" / "manage.py"), "migrate", "-v0"],
        env=notifier_env(url, redis_url),
        check=True,
    )
    return url


def start_workers(
    module: str, env: dict[str, str], processes: int, threads: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed once the child has it
    try:
        worker = subprocess.Popen(
            [str(BIN / "dramatiq"), module, "--processes", str(processes), "--threads", str(threads)],
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    finally:
        if log:
            output.close()  # type: ignore[union-attr]
    time.sleep(3.0)  # up and idle before the clock starts
    return worker


def stop_workers(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)


#: Events per aggregate in the consume workloads (sequences 1..4).
_EVENTS_PER_AGGREGATE = 4
#: Aggregates whose events are interleaved in the queue: one aggregate's next event comes this many
#: messages after its previous one (about 40 ms at 2,500 events/s).
_INTERLEAVE = 100


def _messages(count: int, duplicate_share: float, out_of_order_share: float = 0.0) -> list[dramatiq.Message]:
    """``count`` messages: aggregates of four events interleaved in the queue; about ``out_of_order_share``
    of the events arriving before their aggregate's previous one (swapped with it; overlapping swaps
    make it a little less); ``duplicate_share`` of the messages redelivering an event (same event id)
    at a random place after its first delivery."""
    rng = random.Random(20261201)
    unique = int(count * (1 - duplicate_share)) // _EVENTS_PER_AGGREGATE * _EVENTS_PER_AGGREGATE
    aggregates = unique // _EVENTS_PER_AGGREGATE
    occurred = datetime.now(UTC)

    def event(aggregate: int, sequence: int) -> dict[str, object]:
        return envelope_to_builtins(
            Envelope(
                event_id=uuid.uuid4(), event_type="generation.completed", schema_version=1, occurred_at=occurred,
                aggregate_type="generated_project", aggregate_id=str(aggregate), sequence=sequence,
                correlation_id=None,
                payload={
                    "project_id": 1, "project_name": "bench", "owner_id": 1, "notification_email": None,
                    "webhook_url": None, "generated_project_id": aggregate, "from_status": "generating",
                    "to_status": "completed", "total_files": 10, "total_size": 1000,
                },
            )
        )  # fmt: skip

    order: list[dict[str, object]] = []
    for group in range(1, aggregates + 1, _INTERLEAVE):
        members = range(group, min(group + _INTERLEAVE, aggregates + 1))
        order += [event(a, s) for s in range(1, _EVENTS_PER_AGGREGATE + 1) for a in members]
    position = {(e["aggregate_id"], e["sequence"]): i for i, e in enumerate(order)}
    pairs = [(a, s) for (a, s) in position if s < _EVENTS_PER_AGGREGATE]
    for aggregate, sequence in rng.sample(pairs, int(unique * out_of_order_share)):
        i, j = position[(aggregate, sequence)], position[(aggregate, sequence + 1)]
        order[i], order[j] = order[j], order[i]
    # a redelivery comes after the first delivery, anywhere later in the queue
    keyed = [(float(i), e) for i, e in enumerate(order)]
    keyed += [(rng.uniform(i, len(order)), order[i]) for i in rng.sample(range(len(order)), count - unique)]
    order = [e for _, e in sorted(keyed, key=lambda pair: pair[0])]
    return [
        dramatiq.Message(
            queue_name=EVENTS_QUEUE, actor_name=EVENTS_ACTOR, args=(e,), kwargs={}, options={}, message_id=e["event_id"]
        )
        for e in order
    ]


def _enqueue_all(redis_url: str, messages: list[dramatiq.Message]) -> None:
    """Enqueue through Dramatiq's own script, pipelined 1,000 at a time (as the relay does), so that
    the producer is never what limits the consumers being measured."""
    broker = RedisBroker(url=redis_url)
    dispatch = broker.scripts["dispatch"]
    now_ms = int(time.time() * 1000)
    for start in range(0, len(messages), 1000):
        pipe = broker.client.pipeline(transaction=False)
        for message in messages[start : start + 1000]:
            redis_id = str(uuid.uuid4())
            data = message.copy(options={"redis_message_id": redis_id}).encode()
            args = enqueue_script_args(
                queue_name=EVENTS_QUEUE, redis_message_id=redis_id, data=data, now_ms=now_ms,
                broker_id=broker.broker_id, heartbeat_timeout_ms=broker.heartbeat_timeout,
                dead_message_ttl_ms=broker.dead_message_ttl,
            )  # fmt: skip
            dispatch(keys=[broker.namespace], args=args, client=pipe)
        pipe.execute()
    broker.close()


def _drained(client: redis.Redis) -> bool:
    return client.llen(f"dramatiq:{EVENTS_QUEUE}") == 0 and not any(
        client.scard(key) for key in client.keys("dramatiq:__acks__*")
    )


#: Effects taken in before a later sequence of their aggregate (none may be, with ordering on).
_OUT_OF_ORDER_EFFECTS = """
SELECT count(*) FROM (
    SELECT n.id, lag(n.id) OVER (PARTITION BY i.aggregate_id ORDER BY i.sequence) AS previous
    FROM notifier_notification n JOIN notifier_inbox i ON i.id = n.event_id
) AS effects WHERE previous > id
"""


class Drain(NamedTuple):
    """How a drain went: events/s, and the machine's CPU per event (µs) spent by everything but this process."""

    rate: float
    cpu_per_event: float


def _consume_rate(  # type: ignore[no-untyped-def]
    postgres, redis_url: str, module: str, messages, processes: int, threads: int, **env: str
) -> Drain:
    """Events/s of ``module``'s workers draining ``messages`` from a fresh queue into a fresh database, and the
    CPU it cost (workers, PostgreSQL, Redis: the machine's busy time less this process's own); for the
    notifier, also checks that every event had exactly one effect and, with ordering on, that every
    aggregate's effects came in sequence order with no gap and nothing left waiting."""
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    database_url = notifier_database(postgres, redis_url)
    worker = start_workers(module, {**notifier_env(database_url, redis_url), **env}, processes, threads)
    start, busy, own = time.perf_counter(), machine_busy_seconds(), time.process_time()
    _enqueue_all(redis_url, messages)
    deadline = time.monotonic() + 600
    while not _drained(client):
        if time.monotonic() > deadline:
            stop_workers(worker)
            raise RuntimeError(f"{module} did not drain {len(messages)} messages in 600 s")
        time.sleep(0.01)
    rate = len(messages) / (time.perf_counter() - start)
    cpu = (machine_busy_seconds() - busy) - (time.process_time() - own)
    client.close()
    stop_workers(worker)
    if module == "notifications.worker":
        unique = len({m.message_id for m in messages})
        with psycopg.connect(database_url) as conn:
            inbox = conn.execute("SELECT count(*) FROM notifier_inbox").fetchone()[0]
            notifications, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM notifier_notification"
            ).fetchone()
            gaps = conn.execute("SELECT count(*) FROM notifier_gap").fetchone()[0]
            waiting = conn.execute("SELECT count(*) FROM notifier_inbox WHERE status = 'waiting'").fetchone()[0]
            disorder = conn.execute(_OUT_OF_ORDER_EFFECTS).fetchone()[0]
        assert inbox == unique == notifications == distinct, (inbox, unique, notifications, distinct)
        if env.get("NOTIFIER_ORDERING", "true") == "true":
            assert (gaps, waiting, disorder) == (0, 0, 0), (gaps, waiting, disorder)
    return Drain(rate, cpu / len(messages) * 1e6)


def consume_measurements(
    postgres, redis_url: str, count: int, processes: int = 2, threads: int = 16, rounds: int = 5
) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Events/s through the notifier with ordering on and off, and through a no-op actor, on the same
    messages (10% duplicates, 10% of events out of order within their aggregate), alternating for
    ``rounds`` rounds; the medians are reported, with every sample in the note."""
    messages = _messages(count, 0.10, 0.10)
    sides = {
        "noop": ("bench.noop_worker", {}),
        "ordered": ("notifications.worker", {"NOTIFIER_ORDERING": "true"}),
        "unordered": ("notifications.worker", {"NOTIFIER_ORDERING": "false"}),
    }
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (module, env) in sides.items():
            drain = _consume_rate(postgres, redis_url, module, messages, processes, threads, **env)
            rates[name].append(drain.rate)
            cpu[name].append(drain.cpu_per_event)
    noop, ordered = statistics.median(rates["noop"]), statistics.median(rates["ordered"])
    ratios = [o / u for o, u in zip(rates["ordered"], rates["unordered"], strict=True)]
    cpu_ratios = [u / o for o, u in zip(cpu["ordered"], cpu["unordered"], strict=True)]
    note = (
        f"{count:,} messages, 10% redelivered duplicates, 10% of events out of order within their aggregate, "
        f"{processes} processes × {threads} threads"
    )

    def samples(values: list[float], digits: int = 0) -> str:
        return f"median of {rounds}: " + " / ".join(f"{v:,.{digits}f}" for v in values)

    return [
        Measurement(
            "notifier_consume_rate",
            ordered,
            "events/s",
            (">=", 1500.0),
            f"{note}; ordering on; {samples(rates['ordered'])}; zero duplicate effects, zero gaps, in order",
        ),
        Measurement(
            "notifier_ordering_cost",
            statistics.median(ratios),
            "× (on / off)",
            (">=", 0.75),
            f"ordering on vs off, same messages, paired by round: {samples(ratios, 3)}; "
            f"off: {samples(rates['unordered'])}",
        ),
        Measurement(
            "notifier_ordering_cpu_cost",
            statistics.median(cpu_ratios),
            "× (off / on)",
            None,
            f"CPU per event with ordering off over on (the machine's busy time, less the hypervisor's steal and the "
            f"bench's own: workers, PostgreSQL, Redis), paired by round: "
            f"{samples(cpu_ratios, 3)}; on: {samples(cpu['ordered'])} µs; off: {samples(cpu['unordered'])} µs",
        ),
        Measurement("noop_actor_consume_rate", noop, "events/s", None, f"{note}; {samples(rates['noop'])}"),
        Measurement("notifier_vs_noop_ratio", ordered / noop, "×", None, "medians, same queue, alternating rounds"),
    ]


def e2e_latency_measurements(
    postgres, database_url: str, redis_url: str, seconds: float, rate: float = 200.0
) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Commit of a REST-path change → its in-app notification committed, at ``rate`` events/s, with ordering on
    and then off in the same run (what ordering adds to the tail, judged against the same minutes)."""
    on = _e2e_latency(postgres, database_url, redis_url, seconds, rate, ordering=True)
    off = _e2e_latency(postgres, database_url, redis_url, seconds, rate, ordering=False)
    p99 = [percentile(latencies, 0.99) for latencies, _ in (on, off)]
    return [
        *_e2e_figures(*on, suffix=""),
        *_e2e_figures(*off, suffix="_ordering_off"),
        Measurement("e2e_latency_p99_on_off", p99[0] / p99[1], "× (on / off)", None, "the two runs above"),
    ]


def _e2e_figures(latencies: list[float], note: str, *, suffix: str) -> list[Measurement]:
    p50, p99, p999 = statistics.median(latencies), percentile(latencies, 0.99), percentile(latencies, 0.999)
    target = not suffix
    return [
        Measurement(f"e2e_latency_p50{suffix}", p50, "ms", ("<=", 25.0) if target else None, note),
        Measurement(f"e2e_latency_p99{suffix}", p99, "ms", ("<=", 50.0) if target else None, note),
        Measurement(f"e2e_latency_p99.9{suffix}", p999, "ms", None, note),
    ]


def _e2e_latency(  # type: ignore[no-untyped-def]
    postgres, database_url: str, redis_url: str, seconds: float, rate: float, *, ordering: bool
) -> tuple[list[float], str]:
    """One run of REST commit → in-app notification committed: the latencies (ms, sorted) and a note."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.relay_workloads import _env, _start_relays, _stop, _wait_listening, table_reset
    from outbox.wakeup import wakeup_mode
    from projects import services
    from projects.models import Project

    table_reset(redis_url)
    notifier_url = notifier_database(postgres, redis_url)
    logs = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    relays = _start_relays(1, _env(database_url, redis_url), log=logs / "relay.log")
    _wait_listening(wakeup_mode("default"), redis_url)
    env = {**notifier_env(notifier_url, redis_url), "NOTIFIER_ORDERING": "true" if ordering else "false"}
    worker = start_workers("notifications.worker", env, 1, 8, log=logs / "worker.log")
    owner, _ = get_user_model().objects.get_or_create(username="e2e")
    project = Project.objects.create(owner=owner, name="e2e")
    committed: dict[str, float] = {}
    next_at = time.perf_counter()
    end = next_at + seconds
    while next_at < end:
        generated = services.generated_project_create(project=project)
        at = time.time()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT event_id::text FROM outbox_event WHERE aggregate_id = %s AND sequence = 1", [str(generated.pk)]
            )
            committed[cursor.fetchone()[0]] = at
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))
    deadline = time.monotonic() + 30
    rows: list[tuple[str, datetime]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(notifier_url) as conn:
            rows = conn.execute(
                "SELECT i.event_id::text, n.created_at "
                "FROM notifier_notification n JOIN notifier_inbox i ON i.id = n.event_id"
            ).fetchall()
        if len(rows) >= len(committed):
            break
        time.sleep(0.2)
    stop_workers(worker)
    _stop(relays)
    latencies = sorted(
        (created.timestamp() - committed[event_id]) * 1000 for event_id, created in rows if event_id in committed
    )
    if statistics.median(latencies) > 25.0:  # what the relay and the worker said, batch lines aside, to see why
        for log in sorted(logs.iterdir()):
            lines = log.read_text(errors="replace").splitlines()
            said = [line for line in lines if "outbox.batch" not in line]
            print(f"--- {log.name}: {len(lines) - len(said)} batch lines, and\n" + "\n".join(said[-40:]))
    shutil.rmtree(logs, ignore_errors=True)
    note = (
        f"{len(latencies)} of {len(committed)} events at {rate:.0f}/s; "
        f"relay wake-up {wakeup_mode('default')}; worker idle poll ≤ 10 ms"
    )
    return latencies, note + f"; ordering {'on' if ordering else 'off'}"
