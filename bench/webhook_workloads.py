"""Workloads of the webhooks: REST commit → webhook received by a receiver on loopback at 200 events/s, with and
without another project's endpoint hanging on every one of its events, and deliveries per second against the
notifier's own intake rate."""

from __future__ import annotations

import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dramatiq
import psycopg
import redis

from bench.harness import Measurement
from bench.notifier_workloads import (
    REPO,
    _drained,
    _enqueue_all,
    notifier_database,
    notifier_env,
    start_workers,
    stop_workers,
)  # fmt: skip
from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, Envelope, envelope_to_builtins
from devinfra.ports import free_port
from devinfra.processes import poll

#: Senders of the delivery worker in these workloads (its default).
THREADS = 32
#: Seconds of traffic sent and delivered before each latency workload, not measured: the processes' first
#: connections (database, receiver) and caches are made then, as in a service that has been running.
WARM_UP_SECONDS = 3.0


def _deliverer(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, str(REPO / "services" / "notifier" / "manage.py"), "deliveries_run",
             "--threads", str(THREADS)],
            env=env, stdout=output, stderr=output, start_new_session=True,
        )  # fmt: skip


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    from bench.relay_workloads import percentile

    ordered = sorted(values)
    return statistics.median(ordered), percentile(ordered, 0.99), percentile(ordered, 0.999)


def _send_for(seconds: float, rate: float, projects: list, committed: dict[str, float]) -> None:  # type: ignore[type-arg]
    """REST-path changes at ``rate`` per second for ``seconds``, taking ``projects`` in turn (a list of (project,
    kept)): the commit time of each event of a kept project goes into ``committed``."""
    from django.db import connection

    from projects import services

    next_at = time.perf_counter()
    end = next_at + seconds
    n = 0
    while next_at < end:
        project, kept = projects[n % len(projects)]
        n += 1
        generated = services.generated_project_create(project=project)
        at = time.time()
        if kept:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT event_id::text FROM outbox_event WHERE aggregate_id = %s AND sequence = 1",
                    [str(generated.pk)],
                )
                committed[cursor.fetchone()[0]] = at
        next_at += 1.0 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))


class Receiver:
    """A webhook receiver on loopback in a process of its own (``devinfra.webhook_receiver``), so that the
    process that produces and measures shares no interpreter lock with it; it logs each arrival."""

    def __init__(self, logs: Path, name: str, *, hang: bool = False) -> None:
        self.port = free_port()
        self.log = logs / f"{name}.arrivals"
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devinfra.webhook_receiver", "--port", str(self.port),
                 *(["--hang"] if hang else [])],
                cwd=REPO, stdout=output, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:  # listening once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the webhook receiver on port {self.port} did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def arrivals(self) -> dict[str, float]:
        """When each webhook id first arrived."""
        first: dict[str, float] = {}
        for line in self.log.read_text().splitlines():
            webhook_id, _, at = line.partition(" ")
            first.setdefault(webhook_id, float(at))
        return first

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _received(receiver: Receiver, committed: dict[str, float], timeout: float = 120.0) -> dict[str, float]:
    """When each committed event's webhook first arrived (waiting up to ``timeout`` for them all)."""
    deadline = time.monotonic() + timeout
    while True:
        arrived = {e: at for e, at in receiver.arrivals().items() if e in committed}
        if len(arrived) >= len(committed) or time.monotonic() > deadline:
            return arrived
        time.sleep(0.2)


def webhook_latency_measurements(
    postgres, database_url: str, redis_url: str, seconds: float, rate: float = 200.0
) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """REST commit → webhook received, and → notification committed, in one run: a healthy project alone, then
    the same with another project (a tenth of the traffic) whose endpoint never answers."""
    from django.contrib.auth import get_user_model

    from bench.relay_workloads import _env, _start_relays, _wait_listening, table_reset
    from bench.relay_workloads import _stop as relays_stop
    from outbox.wakeup import wakeup_mode
    from projects.models import Project

    table_reset(redis_url)
    notifier_url = notifier_database(postgres, redis_url)
    logs = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    healthy, hanging = Receiver(logs, "healthy"), Receiver(logs, "hanging", hang=True)
    relays = _start_relays(1, _env(database_url, redis_url), log=logs / "relay.log")
    _wait_listening(wakeup_mode("default"), redis_url)
    env = notifier_env(notifier_url, redis_url)
    worker = start_workers("notifications.worker", env, 1, 8, log=logs / "worker.log")
    deliverer = _deliverer(env, logs / "deliverer.log")
    try:
        owner, _ = get_user_model().objects.get_or_create(username="webhooks")
        shop = Project.objects.create(owner=owner, name="healthy", webhook_url=healthy.url)
        stuck = Project.objects.create(owner=owner, name="hanging", webhook_url=hanging.url)
        warm_up: dict[str, float] = {}
        _send_for(WARM_UP_SECONDS, rate, [(shop, True)], warm_up)
        _received(healthy, warm_up)
        alone: dict[str, float] = {}
        _send_for(seconds, rate, [(shop, True)], alone)
        alone_received = _received(healthy, alone)
        beside: dict[str, float] = {}
        _send_for(seconds, rate, [(shop, True)] * 9 + [(stuck, False)], beside)
        beside_received = _received(healthy, beside)
        with psycopg.connect(notifier_url) as conn:
            # when each notification was committed, and when its transaction began (its created_at)
            notified = {
                event_id: (float(committed), float(began))
                for event_id, committed, began in conn.execute(
                    "SELECT i.event_id::text, extract(epoch FROM pg_xact_commit_timestamp(n.xmin)), "
                    "extract(epoch FROM n.created_at) "
                    "FROM notifier_notification n JOIN notifier_inbox i ON i.id = n.event_id"
                ).fetchall()
            }
    finally:
        _stop(deliverer)
        stop_workers(worker)
        relays_stop(relays)
        hanging.stop()
        healthy.stop()
        shutil.rmtree(logs, ignore_errors=True)
    hook = _percentiles([(alone_received[e] - t) * 1000 for e, t in alone.items() if e in alone_received])
    committed_p99 = _percentiles([(notified[e][0] - t) * 1000 for e, t in alone.items() if e in notified])[1]
    began_p99 = _percentiles([(notified[e][1] - t) * 1000 for e, t in alone.items() if e in notified])[1]
    with_neighbour = _percentiles([(beside_received[e] - t) * 1000 for e, t in beside.items() if e in beside_received])
    note = f"{len(alone_received)} of {len(alone)} webhooks at {rate:.0f}/s, one delivery worker × {THREADS}"
    beside_note = (
        f"{len(beside_received)} of {len(beside)} of the healthy project's webhooks, while a tenth of {rate:.0f}/s "
        "went to an endpoint that never answers"
    )
    return [
        Measurement("webhook_latency_p50", hook[0], "ms", None, note),
        Measurement("webhook_latency_p99", hook[1], "ms", None, note),
        Measurement("webhook_latency_p99.9", hook[2], "ms", None, note),
        Measurement(
            "notification_latency_p99_same_run",
            committed_p99,
            "ms",
            None,
            "REST commit → notification committed (its transaction's commit time)",
        ),
        Measurement(
            "notification_began_p99_same_run",
            began_p99,
            "ms",
            None,
            "REST commit → the notification's transaction began (its created_at): shorter by intake's transaction",
        ),
        Measurement("webhook_vs_notification_p99", hook[1] / committed_p99, "×", ("<=", 1.5), "same run, same events"),
        Measurement("webhook_latency_beside_hanging_p50", with_neighbour[0], "ms", None, beside_note),
        Measurement("webhook_latency_beside_hanging_p99", with_neighbour[1], "ms", None, beside_note),
        Measurement("webhook_latency_beside_hanging_p99.9", with_neighbour[2], "ms", None, beside_note),
        Measurement(
            "webhook_neighbour_p99_ratio",
            with_neighbour[1] / hook[1],
            "×",
            ("<=", 1.5),
            "healthy project's p99 beside a hanging endpoint / alone, same run",
        ),
    ]


def webhook_throughput_measurements(postgres, redis_url: str, count: int, projects: int = 20) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Deliveries per second to a healthy receiver (``projects`` endpoints), against the rate at which the
    notifier took the same events in."""
    notifier_url = notifier_database(postgres, redis_url)
    logs = Path(tempfile.mkdtemp(prefix="bench-webhook-rate-"))
    receiver = Receiver(logs, "receiver")
    env = notifier_env(notifier_url, redis_url)
    occurred = datetime.now(UTC)
    messages = []
    for n in range(count):
        data = envelope_to_builtins(
            Envelope(
                event_id=uuid.uuid4(), event_type="generation.completed", schema_version=1, occurred_at=occurred,
                aggregate_type="generated_project", aggregate_id=str(n + 1), sequence=1, correlation_id=None,
                payload={
                    "project_id": 1 + n % projects, "project_name": "bench", "owner_id": 1,
                    "notification_email": None, "webhook_url": receiver.url, "generated_project_id": n + 1,
                    "from_status": "generating", "to_status": "completed", "total_files": 10, "total_size": 1000,
                },
            )
        )  # fmt: skip
        messages.append(
            dramatiq.Message(
                queue_name=EVENTS_QUEUE,
                actor_name=EVENTS_ACTOR,
                args=(data,),
                kwargs={},
                options={},
                message_id=data["event_id"],
            )
        )
    _enqueue_all(redis_url, messages)
    client = redis.Redis.from_url(redis_url)
    worker = start_workers("notifications.worker", env, 2, 16, log=logs / "worker.log")
    _until(lambda: _drained(client), what="the events taken in")
    stop_workers(worker)
    deliverer = _deliverer(env, logs / "deliverer.log")
    with psycopg.connect(notifier_url, autocommit=True) as conn:
        delivered = "SELECT count(*) FROM notifier_delivery WHERE status = 'delivered'"
        _until(lambda: conn.execute(delivered).fetchone()[0] >= count, what="every webhook delivered")
        # rates between the first and the last of each, by the database's clock
        intake, delivery = conn.execute(
            "SELECT (SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM notifier_inbox), "
            "(SELECT extract(epoch FROM max(delivered_at) - min(delivered_at)) FROM notifier_delivery)"
        ).fetchone()
    intake_rate, delivery_rate = count / float(intake), count / float(delivery)
    _stop(deliverer)
    receiver.stop()
    shutil.rmtree(logs, ignore_errors=True)
    note = (
        f"{count} webhooks to {projects} endpoints, one delivery worker × {THREADS}; "
        "receiver: Python's http.server, HTTP/1.1 keep-alive"
    )
    return [
        Measurement("webhook_delivery_rate", delivery_rate, "deliveries/s", None, note),
        Measurement(
            "webhook_intake_rate_same_events", intake_rate, "events/s", None, "notifier worker 2 × 16, same events"
        ),
        Measurement("webhook_delivery_vs_intake", delivery_rate / intake_rate, "×", None, "reported"),
    ]


def _until(condition: Callable[[], bool], *, what: str, timeout: float = 600.0) -> None:
    """Wait for ``condition``; RuntimeError naming ``what`` after ``timeout`` seconds."""
    if not poll(condition, timeout=timeout):
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def webhook_measurements(postgres, database_url: str, redis_url: str, *, quick: bool) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Every webhook workload (``make bench``'s ``webhook``)."""
    print("measuring webhook latency, beside a hanging endpoint too, and deliveries per second", flush=True)
    seconds = 15.0 if quick else 30.0  # 3,000 / 6,000 events at 200/s: enough for a p99
    return webhook_latency_measurements(postgres, database_url, redis_url, seconds) + webhook_throughput_measurements(
        postgres, redis_url, 2_000 if quick else 6_000
    )
