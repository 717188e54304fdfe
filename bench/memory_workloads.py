"""Memory under steady load: how much a relay and a notifier worker process grow per 100,000 events.

A relay and a notifier worker (one process, 16 threads, as real processes) carry a steady stream of
events from outbox rows to notifications. After a warm-up, the resident set of the relay and of the
worker process is read before and after ``count`` more events: what a process keeps per event shows
as growth, where a process in a steady state stays flat.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from bench.harness import Measurement

#: Events per chunk of the stream (inserted at once, then carried through before the next).
CHUNK = 2_000


def rss_kib(pid: int) -> int:
    """Resident set size of a running process, KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _stream(events: int, notifier_url: str, taken_before: int) -> int:
    """Carry ``events`` more events through, CHUNK at a time; return the inbox count after."""
    from devinfra.outbox_rows import pending_rows_insert

    taken = taken_before
    with psycopg.connect(notifier_url, autocommit=True) as conn:
        for _ in range(0, events, CHUNK):
            pending_rows_insert(CHUNK)
            taken += CHUNK
            deadline = time.monotonic() + 120
            while conn.execute("SELECT count(*) FROM notifier_inbox").fetchone()[0] < taken:  # type: ignore[index]
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the notifier did not take in {taken} events within 120 s")
                time.sleep(0.05)
    return taken


def rss_growth_measurements(postgres, database_url: str, redis_url: str, count: int, warmup: int) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """RSS growth of one relay and one notifier worker process over ``count`` events, after ``warmup``."""
    from bench.notifier_workloads import notifier_database, notifier_env, start_workers, stop_workers
    from bench.relay_workloads import _env, _start_relays, _stop, table_reset

    table_reset(redis_url)
    notifier_url = notifier_database(postgres, redis_url)
    (relay,) = _start_relays(1, _env(database_url, redis_url))
    worker = start_workers("notifications.worker", notifier_env(notifier_url, redis_url), 1, 16)
    try:
        (worker_process,) = _children(worker.pid)
        taken = _stream(warmup, notifier_url, 0)
        before = {"relay": rss_kib(relay.pid), "worker": rss_kib(worker_process)}
        _stream(count, notifier_url, taken)
        after = {"relay": rss_kib(relay.pid), "worker": rss_kib(worker_process)}
    finally:
        stop_workers(worker)
        _stop([relay])
    results = []
    for name in ("relay", "worker"):
        growth = (after[name] - before[name]) / 1024 * 100_000 / count
        note = (
            f"{count:,} events after {warmup:,} of warm-up, in chunks of {CHUNK:,}; "
            f"RSS {before[name] / 1024:.1f} → {after[name] / 1024:.1f} MiB"
        )
        results.append(Measurement(f"rss_growth_{name}_per_100k_events", growth, "MiB", ("<=", 2.0), note))
    return results
