"""The delivery worker's loop: claim what is due while senders are free, send on a pool of threads, record
what came of the attempts in batches.

It claims only as many deliveries as it has free senders, so a hanging receiver holds at most its
endpoint's room of them and the rest keep claiming. Senders only send; one recorder thread puts the
attempts that ended meanwhile on record in one transaction (as intake's group commit does), then
wakes the loop to claim again. It rides out database outages (a claim that fails is tried again; a
batch that cannot be recorded is left to its claims' leases, and sent again) and stops on request
after the attempts in flight end (each bounded by its timeouts) and are recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from notifications.batches import batch_take
from notifications.db import on_fresh_connection
from notifications.delivery.attempt import Attempted, attempts_record, deliveries_claimed, delivery_send
from notifications.delivery.claims import deliveries_claim
from notifications.delivery.endpoints import endpoints_assign
from notifications.delivery.wakeup import DeliveryListener
from notifications.models import Delivery

logger = logging.getLogger(__name__)

#: Most attempts the recorder puts on record in one transaction.
RECORD_BATCH_MAX = 64


def deliveries_send_due(*, limit: int = 100) -> int:
    """Claim what is due now, make one attempt at each, one after the other, in this thread, and record them;
    how many. For operators' commands and tests; the worker sends in parallel (``DeliveryRunner``)."""
    endpoints_assign()
    claimed = deliveries_claimed(deliveries_claim(limit=limit))
    attempts_record([delivery_send(delivery) for delivery in claimed])
    return len(claimed)


class DeliveryRunner:
    """Sends due deliveries on ``threads`` senders until ``stop`` is set."""

    def __init__(self, *, threads: int | None = None, poll: float | None = None) -> None:
        config = settings.NOTIFIER
        self.threads = threads or int(config["DELIVERY_THREADS"])
        self.poll = float(config["DELIVERY_POLL"]) if poll is None else poll
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._attempted: queue.SimpleQueue[Attempted | None] = queue.SimpleQueue()

    def run(self) -> None:
        listener = DeliveryListener(self.wake)
        listener.start()
        recorder = threading.Thread(target=self._record_loop, name="delivery-recorder", daemon=True)
        recorder.start()
        senders = ThreadPoolExecutor(self.threads, thread_name_prefix="deliver")
        try:
            while not self.stop.is_set():
                self.wake.clear()
                with self._lock:
                    free = self.threads - self._busy
                for delivery in self._claim(free) if free > 0 else []:
                    with self._lock:
                        self._busy += 1
                    senders.submit(self._send, delivery)
                self.wake.wait(self.poll)
        finally:
            listener.stop()
            senders.shutdown(wait=True)  # the attempts in flight end ...
            self._attempted.put(None)
            recorder.join()  # ... and are recorded
            close_old_connections()

    def _claim(self, free: int) -> list[Delivery]:
        try:
            on_fresh_connection(endpoints_assign)
            return list(on_fresh_connection(lambda: deliveries_claimed(deliveries_claim(limit=free))))
        except DatabaseError as exc:
            logger.warning("claiming deliveries failed (%s); trying again", str(exc).strip()[:200])
            close_old_connections()
            self.stop.wait(self.poll)
            return []

    def _send(self, delivery: Delivery) -> None:
        self._attempted.put(delivery_send(delivery))

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
                self._busy -= len(batch)
            self.wake.set()
        close_old_connections()
