"""A relay's housekeeping: its heartbeat row, the outbox gauges and retention, off the claim loop.

It runs in a thread of its own with its own database connection, so a slow count, a retention
batch or a database hiccup never delays a claim (they used to add tens of milliseconds to the
commit-to-queue latency now and then).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from outbox import store
from outbox.config import OutboxConfig
from outbox.metrics import RelayMetrics
from outbox.models import OutboxRelay

logger = logging.getLogger("outbox.relay")


@dataclass
class RelayProgress:
    """What the loop reports to its housekeeper: published so far and when its last batch ended."""

    published_total: int = 0
    last_batch_at: datetime | None = None


class Housekeeper:
    """Heartbeat and gauges every HEARTBEAT_INTERVAL, retention every RETENTION_INTERVAL."""

    def __init__(
        self,
        config: OutboxConfig,
        *,
        relay_id: str,
        progress: RelayProgress,
        metrics: RelayMetrics,
        using: str = "default",
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.relay_id = relay_id
        self.progress = progress
        self.metrics = metrics
        self.using = using
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_heartbeat = 0.0
        self._next_retention = 0.0

    def start(self) -> None:
        """Run in a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self._loop, name="outbox-housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread (after the round in hand), then write the final, stopped heartbeat."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.run_once(force=True, stopping=True)
        except DatabaseError as exc:
            logger.warning("could not write the final heartbeat: %s", exc)
        finally:
            connections[self.using].close()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except DatabaseError as exc:  # the claim loop rides it out too; try again next round
                    logger.warning("housekeeping: database unavailable: %s", exc)
                    connections[self.using].close()
                wait = min(self._next_heartbeat, self._next_retention) - self.clock()
                self._stop.wait(max(0.05, wait))
        finally:
            connections[self.using].close()

    def run_once(self, *, force: bool = False, stopping: bool = False) -> None:
        """Do what is due now: heartbeat and gauges (now, when ``force``), retention (never when ``stopping``)."""
        now = self.clock()
        if force or now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.heartbeat_interval
            self.heartbeat(stopping=stopping)
            for state, count in store.outbox_rows_by_state(using=self.using).items():
                self.metrics.rows.labels(state=state).set(count)
            self.metrics.oldest_pending_age.set(store.outbox_oldest_pending_age(using=self.using))
        if now >= self._next_retention and not stopping:
            self._next_retention = now + self.config.retention_interval
            purged = store.outbox_rows_purge_published(
                older_than=timedelta(seconds=self.config.retention_seconds),
                batch=self.config.retention_batch,
                using=self.using,
            )
            if purged:
                logger.info("outbox.retention", extra={"relay": self.relay_id, "deleted": purged})

    def heartbeat(self, *, stopping: bool = False) -> None:
        """Record that this relay is alive (and when it last finished a batch)."""
        now = timezone.now()
        facts = {
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "last_beat_at": now,
            "last_batch_at": self.progress.last_batch_at,
            "published_total": self.progress.published_total,
        }
        with transaction.atomic(using=self.using):
            OutboxRelay.objects.using(self.using).update_or_create(
                relay_id=self.relay_id,
                defaults={**facts, "stopped_at": now if stopping else None},
                create_defaults={**facts, "started_at": now},
            )
