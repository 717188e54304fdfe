"""The relay: claim due outbox rows, publish them to Dramatiq over Redis, mark them published.

Each batch is three short steps, none holding a row lock across the network: claim (one
statement that leases the rows), publish (one pipelined Redis round trip, retried in process
with tenacity, bounded and jittered), settle (mark published, or back off / mark dead). A relay
that dies between claim and settle leaves its rows leased; they come back when the lease ends.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import tenacity
from django.db import DatabaseError, connections
from django.utils import timezone

from codegen_contracts import ContractError
from outbox import store
from outbox.config import OutboxConfig
from outbox.errors import PublishError, RelayStopping
from outbox.housekeeping import Housekeeper, RelayProgress
from outbox.metrics import RelayMetrics
from outbox.publish_spans import PublishSpans
from outbox.publisher import DramatiqRedisPublisher, Prepared, prepare
from outbox.store import ClaimedRow
from outbox.wakeup import MissedWakeups, wakeup_mode_effective

logger = logging.getLogger("outbox.relay")

T = TypeVar("T")


@dataclass
class BatchOutcome:
    """What one batch did."""

    claimed: int = 0
    fresh: int = 0  # claimed rows on their first attempt
    published: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    duration: float = 0.0

    def add(self, other: BatchOutcome) -> None:
        """Count ``other`` in too (a drain's batches, summed)."""
        for name in ("claimed", "fresh", "published", "retried", "dead", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duration += other.duration


class Relay:
    """One relay process's loop; several can run against one PostgreSQL."""

    def __init__(
        self,
        config: OutboxConfig,
        publisher: DramatiqRedisPublisher,
        *,
        using: str = "default",
        relay_id: str | None = None,
        metrics: RelayMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.publisher = publisher
        self.using = using
        self.relay_id = relay_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.metrics = metrics or RelayMetrics()
        self.clock = clock
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.wakeup = wakeup_mode_effective(config.wakeup, using)
        self.missed_wakeups = MissedWakeups(self.wakeup, clock=clock)
        self.progress = RelayProgress()
        self.housekeeper = Housekeeper(
            config, relay_id=self.relay_id, progress=self.progress, metrics=self.metrics, using=using, clock=clock
        )
        self._due_after: datetime | None = None  # head of the queue as last seen, for bounded claims
        self._next_sweep = 0.0

    # --- one batch -------------------------------------------------------------------------

    def step(self) -> BatchOutcome:
        """Claim, publish and settle one batch; returns what happened."""
        started = self.clock()
        sweep = started >= self._next_sweep
        rows = store.outbox_rows_claim(
            limit=self.config.batch_size,
            lease_seconds=self.config.lease_seconds,
            due_after=None if sweep else self._due_after,
            using=self.using,
        )
        if sweep:
            self._next_sweep = started + self.config.sweep_interval
        outcome = BatchOutcome(claimed=len(rows), fresh=sum(1 for row in rows if row.attempts == 0))
        if not rows:
            return outcome
        self._due_after = rows[0].due_at - timedelta(seconds=self.config.scan_margin)

        failures: list[tuple[ClaimedRow, str]] = []
        batch: list[Prepared] = []
        batch_token = uuid.uuid4().hex  # one random draw per batch; ids unique per enqueue
        spans = PublishSpans()
        for index, row in enumerate(rows):
            try:
                batch.append(prepare(row, f"{batch_token}-{index}", traceparent=spans.start(row)))
            except ContractError as exc:
                failures.append((row, f"contract: {exc}"))
        try:
            published, refused = self._publish_with_retry(batch)
        except RelayStopping:
            outcome.released = self._settle_db(
                lambda: store.outbox_rows_release(ids=[p.row.id for p in batch], using=self.using)
            )
            spans.end([p.row for p in batch], error="released: the relay is stopping")
            return outcome
        failures.extend((item.row, error) for item, error in refused)

        self._settle_db(lambda: store.outbox_rows_mark_published(ids=[p.row.id for p in published], using=self.using))
        outcome.published = len(published)
        self._observe_publish_lag(published)
        spans.end([p.row for p in published])
        for row, error in failures:
            spans.end([row], error=error)
        if failures:
            outcome.retried, outcome.dead = self._settle_db(
                lambda: store.outbox_rows_mark_failed(
                    failures=failures,
                    max_attempts=self.config.max_attempts,
                    backoff_base=self.config.backoff_base,
                    backoff_max=self.config.backoff_max,
                    using=self.using,
                )
            )
        outcome.duration = self.clock() - started
        self._record(outcome, failures)
        return outcome

    def _observe_publish_lag(self, published: list[Prepared]) -> None:
        enqueued = timezone.now()
        for item in published:
            if item.row.attempts == 0:  # a retried row's due time is its backoff, not its commit
                self.metrics.publish_lag.observe(max(0.0, (enqueued - item.row.due_at).total_seconds()))

    def _publish_with_retry(self, batch: list[Prepared]) -> tuple[list[Prepared], list[tuple[Prepared, str]]]:
        """Publish, retrying what failed; returns (published, refused with the last error)."""
        remaining = list(batch)
        published: list[Prepared] = []
        refused: list[tuple[Prepared, str]] = []
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.config.publish_retry_attempts),
            wait=tenacity.wait_exponential_jitter(multiplier=0.05, max=self.config.publish_retry_max_wait, jitter=0.05),
            retry=tenacity.retry_if_exception_type(PublishError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    refused = self.publisher.publish(remaining)
                    refused_ids = {id(item) for item, _ in refused}
                    published.extend(item for item in remaining if id(item) not in refused_ids)
                    remaining = [item for item, _ in refused]
                    if refused:
                        raise PublishError(refused[0][1])
        except PublishError as exc:
            logger.warning("publish gave up after %d tries: %s", self.config.publish_retry_attempts, exc)
            refused = [(item, str(exc)) for item in remaining]
        return published, refused

    def _sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise RelayStopping

    def _settle_db(self, action: Callable[[], T]) -> T:
        """Run a settle statement, riding out a database restart (no row locks are held).

        Gives up (raising the database's error) when the lease is half gone or the relay is asked to
        stop: the rows stay leased and come back to a relay when the lease ends.
        """
        deadline = self.clock() + self.config.lease_seconds / 2
        while True:
            try:
                return action()
            except DatabaseError as exc:
                connections[self.using].close()
                if self.clock() > deadline or self.stop_event.is_set():
                    raise
                logger.warning("database unavailable while settling a batch, retrying: %s", exc)
                if self.stop_event.wait(0.5):
                    raise

    def _record(self, outcome: BatchOutcome, failures: list[tuple[ClaimedRow, str]]) -> None:
        self.progress.published_total += outcome.published
        self.progress.last_batch_at = timezone.now()
        self.metrics.published.inc(outcome.published)
        self.metrics.publish_failures.inc(len(failures))
        self.metrics.dead.inc(outcome.dead)
        self.metrics.batch_duration.observe(outcome.duration)
        line = {
            "relay": self.relay_id,
            "claimed": outcome.claimed,
            "published": outcome.published,
            "failed": len(failures),
            "retried": outcome.retried,
            "dead": outcome.dead,
            "duration_ms": round(outcome.duration * 1000, 2),
        }
        if failures:  # the first one, to follow in the logs and traces of its event
            line["error"] = failures[0][1][:300]
            line["event_id"] = failures[0][0].envelope.event_id
        logger.info("outbox.batch", extra=line)

    # --- the loop --------------------------------------------------------------------------

    def drain(self, *, housekeeping: bool = True) -> BatchOutcome:
        """Publish everything due now (``--once``); what the batches did, summed. With ``housekeeping``, then
        retention and a last heartbeat that says this relay stopped."""
        total = BatchOutcome()
        self._next_sweep = 0.0
        while not self.stop_event.is_set():
            outcome = self.step()
            total.add(outcome)
            if outcome.claimed < self.config.batch_size:
                self._next_sweep = 0.0  # one last full sweep for stragglers, then stop
                outcome = self.step()
                total.add(outcome)
                if outcome.claimed == 0:
                    break
        if housekeeping:
            self.housekeeper.run_once(force=True)
            self.housekeeper.heartbeat(stopping=True)
        return total

    def run(self) -> None:
        """Loop until ``stop()``: batches back to back while there is work, else wait for a wake-up."""
        logger.info("outbox.relay_started", extra={"relay": self.relay_id})
        # What start-up loaded (Django, the models, the libraries) lives as long as the process: out
        # of the collector's sight, a full collection no longer walks it, which stalled a claim now
        # and then by several milliseconds.
        gc.collect()
        gc.freeze()
        self.housekeeper.start()
        try:
            self._loop()
        finally:
            self.housekeeper.stop()
        logger.info("outbox.relay_stopped", extra={"relay": self.relay_id})

    def _loop(self) -> None:
        polled = False  # whether the wait before this claim timed out without a wake-up
        while not self.stop_event.is_set():
            try:
                outcome = self.step()
            except DatabaseError as exc:
                logger.warning("database unavailable, retrying: %s", exc)
                connections[self.using].close()
                self.stop_event.wait(1.0)
                continue
            if self.missed_wakeups.observe(polled=polled, fresh_rows=outcome.fresh):
                hint = "new rows keep being found by polling: are the writers' OUTBOX_WAKEUP and the relay's the same?"
                logger.warning("outbox.wakeup_missing", extra={"wakeup": self.wakeup, "hint": hint})
            polled = False
            if outcome.claimed < self.config.batch_size:
                polled = not self.wake_event.wait(self.config.poll_interval)
                self.wake_event.clear()

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and return."""
        self.stop_event.set()
        self.wake_event.set()
