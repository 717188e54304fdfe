"""The delivery worker's loop: claim what is due while senders are free, send on a pool of threads, record
what came of the attempts in batches.

It claims only as many deliveries as it has free senders, so a hanging receiver holds at most its
endpoint's room of them and the rest keep claiming. Senders only send, and wake the loop as each send
ends: a sender and its endpoint's room are free again as soon as the send ends (the claim counts the
sends that ended but are not on record yet as no longer in flight). One recorder thread puts the
attempts that ended meanwhile on record in one transaction (as intake's group commit does). New
webhook deliveries get their endpoint when an announcement (or the poll) says some arrived.

It rides out database outages (a claim that fails is tried again; a batch that cannot be recorded
is left to its claims' leases, and sent again) and stops on request after the attempts in flight
end (each bounded by its timeouts) and are recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, close_old_connections

from notifications.config import notifier_config
from notifications.delivery.attempt import Attempted, attempts_record, delivery_send
from notifications.delivery.claims import deliveries_claim
from notifications.delivery.endpoints import ASSIGN_BATCH, endpoints_assign
from notifications.delivery.wakeup import DeliveryListener
from notifications.intake.batches import batch_take
from notifications.models import Delivery
from notifications.reconnect import on_fresh_connection

logger = logging.getLogger(__name__)

#: Most attempts the recorder puts on record in one transaction.
RECORD_BATCH_MAX = 64
#: Attempts waiting to be put on record, as a multiple of the senders, past which the loop stops claiming
#: until the recorder catches up (a slow database slows sending rather than piling up claims).
RECORD_BACKLOG_PER_SENDER = 4


def deliveries_send_due(*, limit: int = 100) -> int:
    """Claim what is due now, make one attempt at each, one after the other, in this thread, and record them;
    how many. For operators' commands and tests; the worker sends in parallel (``DeliveryRunner``)."""
    endpoints_assign()
    claimed = deliveries_claim(limit=limit)
    attempts_record([delivery_send(delivery) for delivery in claimed])
    return len(claimed)


class DeliveryRunner:
    """Sends due deliveries on ``threads`` senders until ``stop`` is set."""

    def __init__(self, *, threads: int | None = None, poll: float | None = None) -> None:
        config = notifier_config()
        self.threads = threads or config.delivery_threads
        self.poll = config.delivery_poll if poll is None else poll
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._busy = 0
        self._sent: set[int] = set()  # sends ended, attempts not on record yet
        self._lock = threading.Lock()
        self._attempted: queue.SimpleQueue[Attempted | None] = queue.SimpleQueue()

    def run(self) -> None:
        arrived = threading.Event()  # an announcement came: new webhook deliveries may want their endpoint
        listener = DeliveryListener(self.wake, arrived=arrived)
        listener.start()
        recorder = threading.Thread(target=self._record_loop, name="delivery-recorder", daemon=True)
        recorder.start()
        senders = ThreadPoolExecutor(self.threads, thread_name_prefix="deliver")
        polled = True
        try:
            while not self.stop.is_set():
                self.wake.clear()
                with self._lock:
                    behind = len(self._sent) >= RECORD_BACKLOG_PER_SENDER * self.threads
                    free = 0 if behind else self.threads - self._busy
                if free > 0:
                    assign = polled or arrived.is_set()  # not when only a send ended
                    arrived.clear()
                    for delivery in self._claim(free, assign=assign, more=arrived):
                        with self._lock:
                            self._busy += 1
                        senders.submit(self._send, delivery)
                polled = not self.wake.wait(self.poll)
        finally:
            listener.stop()
            senders.shutdown(wait=True)  # the attempts in flight end ...
            self._attempted.put(None)
            recorder.join()  # ... and are recorded
            close_old_connections()

    def _claim(self, free: int, *, assign: bool, more: threading.Event) -> list[Delivery]:
        """Claim up to ``free`` deliveries, first giving new webhook deliveries their endpoint when ``assign``
        (``more`` is set when there may be more of them than one round assigns)."""
        with self._lock:
            sent = frozenset(self._sent)  # a snapshot taken before the claim counts: it can only hold fewer
        try:
            if assign and on_fresh_connection(endpoints_assign) >= ASSIGN_BATCH:
                more.set()
            return on_fresh_connection(lambda: deliveries_claim(limit=free, sent=sent))
        except DatabaseError as exc:
            logger.warning("claiming deliveries failed (%s); trying again", str(exc).strip()[:200])
            close_old_connections()
            self.stop.wait(self.poll)
            return []

    def _send(self, delivery: Delivery) -> None:
        attempted = delivery_send(delivery)
        with self._lock:
            self._busy -= 1
            self._sent.add(delivery.pk)
        self._attempted.put(attempted)
        self.wake.set()

    def _record_loop(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = batch_take(self._attempted, RECORD_BATCH_MAX)
            if not batch:
                break
            try:
                attempts_record(batch)
            except Exception:  # their claims run out and they are sent again: at least once, never lost
                logger.exception("%d delivery attempts could not be recorded", len(batch))
                close_old_connections()
            with self._lock:
                self._sent.difference_update(a.delivery.pk for a in batch)
            self.wake.set()
        close_old_connections()
