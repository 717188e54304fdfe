"""The delivery worker's loop: claim what is due while senders are free, send on a pool of threads, record
what came of the attempts in batches.

It claims only as many deliveries as it has free senders, so a hanging receiver holds at most its
endpoint's room of them and the rest keep claiming. It claims when an announcement says deliveries were
committed, at each poll, and when a send ends that frees room the last claim lacked (a sender, or the
room of an endpoint that was full): a sender and its endpoint's room are free again as soon as the send
ends (the claim counts the sends that ended but are not on record yet as no longer in flight). Senders
only send. One recorder thread puts the attempts that ended meanwhile on record in one transaction (as
intake's group commit does).

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
        self._lacking: set[int | None] = set()  # what the last claim lacked room for (``deliveries_claim``'s left)
        self._ended: set[int | None] = set()  # the endpoints of sends that ended since the last claim's snapshot
        self._behind = False  # claiming waits for the recorder to catch up
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
                    self._behind = len(self._sent) >= RECORD_BACKLOG_PER_SENDER * self.threads
                    free = 0 if self._behind else self.threads - self._busy
                    if free <= 0:
                        self._lacking = {None}
                if free > 0:
                    lacking: set[int | None] = set()
                    claimed = self._claim(free, lacking)
                    with self._lock:
                        self._lacking = lacking
                        self._busy += len(claimed)
                        if self._ended and (None in lacking or lacking & self._ended):
                            self.wake.set()  # a send ended during the claim, with room it lacked
                    for delivery in claimed:
                        senders.submit(self._send, delivery)
                self.wake.wait(self.poll)
        finally:
            listener.stop()
            senders.shutdown(wait=True)  # the attempts in flight end ...
            self._attempted.put(None)
            recorder.join()  # ... and are recorded
            close_old_connections()

    def _claim(self, free: int, lacking: set[int | None]) -> list[Delivery]:
        """Claim up to ``free`` deliveries; what was left for lack of room goes into ``lacking``."""
        with self._lock:
            sent = frozenset(self._sent)  # a snapshot taken before the claim counts: it can only hold fewer
            self._ended.clear()
        try:
            return on_fresh_connection(lambda: deliveries_claim(limit=free, sent=sent, left=lacking))
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
            self._ended.add(delivery.endpoint_id)
            room = None in self._lacking or delivery.endpoint_id in self._lacking
        self._attempted.put(attempted)
        if room:
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
                caught_up = self._behind
            if caught_up:
                self.wake.set()
        close_old_connections()
