"""Prometheus metrics of the notifier worker, in prometheus_client's multiprocess mode.

Dramatiq runs several worker processes; each writes its samples to files in PROMETHEUS_MULTIPROC_DIR
and one exposition process (a Dramatiq fork, as Dramatiq's own Prometheus middleware does) serves
their sum on NOTIFIER_METRICS_ADDR:NOTIFIER_METRICS_PORT: one scrape target per worker deployment,
whatever its process count, and counters that survive a process's restart within the deployment.
(One port per process would need the scrape configuration to know the process count.) At boot a
process removes the files of processes no longer running, so the directory needs no wiping.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from dramatiq import Middleware
from prometheus_client import Counter, Histogram

from codegen_config import env_int, env_str

#: Where the multiprocess samples live (prometheus_client reads the same variable when imported).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

EVENTS = Counter("notifier_events", "Event messages the worker handled, by outcome", ["outcome"])
LAG = Histogram(
    "notifier_event_lag_seconds",
    "From an event's occurred_at to the commit of what it caused (taken-in events, not duplicates)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
INTAKE_BATCH = Histogram(
    "notifier_intake_batch_size",
    "Events written per intake transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


def event_counted(outcome: str, *, occurred_at: Any = None) -> None:
    """Count one handled message; with ``occurred_at``, observe its end-to-end lag too."""
    EVENTS.labels(outcome).inc()
    if occurred_at is not None:
        lag_observed(occurred_at)


def lag_observed(occurred_at: Any) -> None:
    """Observe the end-to-end lag of an event that occurred at ``occurred_at`` and whose effects just committed."""
    LAG.observe(max(0.0, time.time() - occurred_at.timestamp()))


def metrics_port() -> int:
    """NOTIFIER_METRICS_PORT: where the worker serves its metrics (0, the default: it does not)."""
    return env_int("NOTIFIER_METRICS_PORT", 0)


def serve_worker_metrics() -> int:
    """A Dramatiq fork: serve the sum of every worker process's samples until stopped."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(metrics_port(), addr=env_str("NOTIFIER_METRICS_ADDR", "127.0.0.1"), registry=registry)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            signal.pause()  # the server's thread serves; this process ends with its signal
    return 0


_SAMPLE_FILE = re.compile(r"_(\d+)\.db$")


def _remove_dead_processes_files(directory: Path) -> None:
    for path in directory.glob("*.db"):
        match = _SAMPLE_FILE.search(path.name)
        if match is None:
            continue
        try:
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        except PermissionError:
            pass  # alive, someone else's


class WorkerMetrics(Middleware):
    """Serves the worker's metrics when NOTIFIER_METRICS_PORT is set (it then needs PROMETHEUS_MULTIPROC_DIR)."""

    @property
    def forks(self) -> list[Any]:
        return [serve_worker_metrics] if metrics_port() else []

    def after_process_boot(self, broker: Any) -> None:
        directory = os.environ.get(MULTIPROC_DIR)
        if directory:
            _remove_dead_processes_files(Path(directory))

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if os.environ.get(MULTIPROC_DIR):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())
