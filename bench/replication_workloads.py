"""Redis replication: what OUTBOX_MIN_REPLICAS costs in drain rate, and what it buys across failovers.

Both run against ``devinfra.sentinel``'s primary, replica and three Sentinels on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from bench.harness import Measurement, Workload
from bench.relay_workloads import QUEUE, _env, _start_relays, _stop, rows_insert, table_reset, timed_drain
from devinfra.sentinel import SentinelGroup


def _drain_rate(count: int, group: SentinelGroup, min_replicas: int) -> float:
    from codegen_config import RedisTarget
    from outbox.config import OutboxConfig
    from outbox.publisher import DramatiqRedisPublisher
    from outbox.relay import Relay

    primary = group.server(group.primary_port())
    table_reset(primary.url)
    rows_insert(count)
    target = RedisTarget(url=primary.url)
    config = OutboxConfig.from_settings(heartbeat_interval=3600, retention_interval=3600, redis=target,
                                        min_replicas=min_replicas)  # fmt: skip
    return timed_drain(Relay(config, DramatiqRedisPublisher(target, min_replicas=min_replicas)), count)


def min_replicas_workload(count: int, group: SentinelGroup) -> Workload:
    return Workload(
        name="relay_drain_min_replicas",
        description=f"Drain {count:,} pending rows through a primary with one replica on loopback: "
        "OUTBOX_MIN_REPLICAS=1 (each batch's pipeline ends with WAIT 1) vs 0. Higher is better; reported.",
        baseline_label="min replicas 0",
        subject_label="min replicas 1",
        baseline=lambda: _drain_rate(count, group, 0),
        subject=lambda: _drain_rate(count, group, 1),
        unit="events/s",
        warmup=True,
    )


def _lost_in_failovers(database_url: str, min_replicas: int, failovers: int, batch: int, log: Path) -> tuple[int, int]:
    """Events marked published that no Redis has after ``failovers`` SIGKILLs of the primary under load;
    (lost, published). No consumer runs: the queue keeps every message that survived."""
    lost = published = 0
    for _ in range(failovers):
        group = SentinelGroup().start()
        try:
            table_reset(group.server(group.primary_port()).url)
            env = _env(database_url, "redis://127.0.0.1:1/0", **group.env(), OUTBOX_MIN_REPLICAS=str(min_replicas),
                       OUTBOX_BACKOFF_BASE="0.5", OUTBOX_BACKOFF_MAX="2", OUTBOX_PUBLISH_RETRY_MAX_WAIT="0.5",
                       OUTBOX_PUBLISH_TIMEOUT="3", OUTBOX_BATCH_SIZE="100")  # fmt: skip
            relays = _start_relays(2, env, log)
            try:
                rows_insert(batch)
                deadline = time.monotonic() + 60
                while len(_published_ids()) < batch // 5 and time.monotonic() < deadline:
                    time.sleep(0.01)  # poll interval: kill the primary once the relays are publishing
                with _replication_cut(group):
                    time.sleep(0.5)  # the primary acknowledges writes its replica never receives
                    old, _new = group.kill_primary()
                rows_insert(batch)
                group.rejoin(old)
                deadline = time.monotonic() + 120
                while _pending_count() and time.monotonic() < deadline:
                    time.sleep(0.2)
            finally:
                _stop(relays)
            client = redis.Redis.from_url(group.server(group.primary_port()).url)
            queued = {json.loads(body)["message_id"] for body in client.hvals(f"{QUEUE}.msgs")}
            marked = _published_ids()
            lost += len(marked - queued)
            published += len(marked)
        finally:
            group.stop()
    return lost, published


@contextlib.contextmanager
def _replication_cut(group: SentinelGroup) -> Iterator[None]:
    """Drop the packets of the primary's replication link (iptables on loopback, when this machine has it and
    runs as root): a network partition between the two, the fault a failover can lose writes to. Without
    iptables nothing is cut, and a SIGKILL alone loses nothing on one machine (the kernel still delivers
    what the killed primary had written to the link)."""
    primary = redis.Redis.from_url(group.server(group.primary_port()).url)
    links = [c["addr"].rsplit(":", 1)[1] for c in primary.client_list(_type="replica")]
    port = str(group.primary_port())
    rules = [r for link in links for r in (["--sport", port, "--dport", link], ["--sport", link, "--dport", port])]
    iptables = shutil.which("iptables") if os.geteuid() == 0 else None
    added = []
    try:
        for rule in rules if iptables else []:
            spec = ["INPUT", "-i", "lo", "-p", "tcp", *rule, "-j", "DROP"]
            if subprocess.run([iptables, "-I", *spec], capture_output=True).returncode == 0:  # type: ignore[list-item]
                added.append(spec)
        _CUTS.append(bool(added))
        yield
    finally:
        for spec in added:
            subprocess.run([iptables, "-D", *spec], capture_output=True)  # type: ignore[list-item]


#: Whether each failover had its replication link cut (iptables available) or was a SIGKILL alone.
_CUTS: list[bool] = []


def _pending_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outbox_event WHERE state = 'pending'")
        return int(cursor.fetchone()[0])


def _published_ids() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id::text FROM outbox_event WHERE state = 'published'")
        return {row[0] for row in cursor.fetchall()}


def failover_measurements(database_url: str, failovers: int, batch: int, log: Path) -> list[Measurement]:
    measurements = []
    for min_replicas in (0, 1):
        lost, published = _lost_in_failovers(database_url, min_replicas, failovers, batch, log)
        measurements.append(
            Measurement(
                f"failover_lost_events_min_replicas_{min_replicas}",
                lost,
                "events",
                ("<=", 0) if min_replicas else None,
                f"{failovers} failovers while two relays drained {2 * batch:,} rows each: "
                + ("replication link cut (iptables) for 0.5 s, then " if all(_CUTS) else "")
                + f"SIGKILL of the primary; events marked published that the promoted replica did not have, of "
                f"{published:,} published",
            )
        )
    return measurements
