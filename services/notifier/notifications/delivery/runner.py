"""The delivery worker's loop: claim what is due while senders are free, send on a pool of threads.

It claims only as many deliveries as it has free senders, so a hanging receiver holds at most its
endpoint's room of them and the rest keep claiming. It rides out database outages (claims fail,
it waits and claims again; attempts settle on a new connection) and stops on request after the
attempts in flight end (each bounded by its timeouts).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from notifications.db import on_fresh_connection
from notifications.delivery.attempt import delivery_attempt
from notifications.delivery.claims import deliveries_claim
from notifications.delivery.endpoints import endpoints_assign
from notifications.delivery.wakeup import DeliveryListener

logger = logging.getLogger(__name__)


def deliveries_send_due(*, limit: int = 100) -> int:
    """Claim what is due now and make one attempt at each, one after the other, in this thread; how many.

    For operators' commands and tests; the worker sends in parallel (``DeliveryRunner``).
    """
    endpoints_assign()
    claimed = deliveries_claim(limit=limit)
    for delivery_id in claimed:
        delivery_attempt(delivery_id)
    return len(claimed)


class DeliveryRunner:
    """Sends due deliveries on ``threads`` senders until ``stop`` is set."""

    def __init__(self, *, threads: int | None = None, poll: float | None = None) -> None:
        config = settings.NOTIFIER
        self.threads = threads or int(config["DELIVERY_THREADS"])
        self.poll = float(config["DELIVERY_POLL"]) if poll is None else poll
        self.stop = threading.Event()
        self.wake = threading.Event()
        self._in_flight: set[Future[None]] = set()
        self._lock = threading.Lock()

    def run(self) -> None:
        listener = DeliveryListener(self.wake)
        listener.start()
        senders = ThreadPoolExecutor(self.threads, thread_name_prefix="deliver")
        try:
            while not self.stop.is_set():
                self.wake.clear()
                free = self.threads - self._busy()
                claimed = self._claim(free) if free > 0 else []
                for delivery_id in claimed:
                    future = senders.submit(self._send, delivery_id)
                    with self._lock:
                        self._in_flight.add(future)
                    future.add_done_callback(self._done)
                if claimed and len(claimed) == free:
                    self.wake.wait(self.poll)  # every sender busy: until one is free
                elif not claimed:
                    self.wake.wait(self.poll)
        finally:
            listener.stop()
            senders.shutdown(wait=True)  # the attempts in flight end and are recorded
            close_old_connections()

    def _busy(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)
        self.wake.set()

    def _claim(self, free: int) -> list[int]:
        try:
            on_fresh_connection(endpoints_assign)
            return on_fresh_connection(lambda: deliveries_claim(limit=free))
        except DatabaseError as exc:
            logger.warning("claiming deliveries failed (%s); trying again", str(exc).strip()[:200])
            close_old_connections()
            self.stop.wait(self.poll)
            return []

    @staticmethod
    def _send(delivery_id: int) -> None:
        try:
            delivery_attempt(delivery_id)
        except Exception:  # the claim runs out and another attempt is made; never lost
            logger.exception("delivery %s: the attempt could not be recorded", delivery_id)
