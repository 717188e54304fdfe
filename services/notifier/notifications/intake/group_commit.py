"""Group commit: a worker process's threads hand their events to one writer thread, which takes in
everything waiting at that moment in one transaction.

Under load this turns N commits, statements and round trips into one (an event costs PostgreSQL
about a fifth as much in a batch of 8); with one event waiting it is written at once, alone, so
latency does not grow. Each caller still waits for its own event's commit before its message is
acknowledged, so a crash at any point loses nothing: unacknowledged messages are redelivered and
the inbox makes the redelivery a duplicate.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence

from django.db import close_old_connections, connection

from codegen_contracts import EventReading
from notifications.intake.batches import batch_take
from notifications.intake.event_plan import Intake
from notifications.intake.inbox import inbox_take_many
from notifications.reconnect import on_fresh_connection
from notifications.worker_metrics import INTAKE_BATCH

logger = logging.getLogger(__name__)

TakeMany = Callable[[Sequence[EventReading]], list[Intake]]

#: Seconds a waiting caller sleeps between checks, so that Dramatiq's time limit and shutdown
#: notifications (raised asynchronously in the thread) still reach it.
_WAIT_SLICE = 1.0


class _Slot:
    """One caller's event and, once written, its outcome; a bare lock is the cheapest wake-up."""

    __slots__ = ("_done", "error", "intake", "reading")

    def __init__(self, reading: EventReading) -> None:
        self.reading = reading
        self.intake: Intake | None = None
        self.error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def resolve(self, intake: Intake | None = None, error: BaseException | None = None) -> None:
        self.intake, self.error = intake, error
        self._done.release()

    @property
    def resolved(self) -> bool:
        return not self._done.locked()

    def wait(self) -> Intake:
        while not self._done.acquire(timeout=_WAIT_SLICE):
            pass
        if self.error is not None:
            raise self.error
        assert self.intake is not None
        return self.intake


class IntakeWriter:
    """Takes events in for many threads, batching those that arrive while a batch is being written.

    ``max_batch`` caps the events per transaction. A batch that fails is retried event by event,
    so one bad event fails only its own message.
    """

    def __init__(self, *, max_batch: int, take_many: TakeMany = inbox_take_many) -> None:
        self.max_batch = max_batch
        self._take_many = take_many
        self._queue: queue.SimpleQueue[_Slot | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._owner_pid: int | None = None

    def take(self, reading: EventReading) -> Intake:
        """Take ``reading`` in (after its transaction commits); raises what taking it in raised."""
        self._ensure_running()
        slot = _Slot(reading)
        self._queue.put(slot)
        return slot.wait()

    def waiting(self) -> int:
        """Events handed over that the writer has not picked up yet."""
        return self._queue.qsize()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the events already handed over, close the writer's connection and end its thread."""
        with self._lock:
            thread, self._thread, self._owner_pid = self._thread, None, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _ensure_running(self) -> None:
        # One writer per process, started on first use (after Dramatiq has forked its workers).
        if self._owner_pid == os.getpid():
            return
        with self._lock:
            if self._owner_pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="intake-writer", daemon=True
                )
                self._thread.start()
                self._owner_pid = os.getpid()

    def _run(self, slots: queue.SimpleQueue[_Slot | None]) -> None:
        stopping = False
        while not stopping:
            batch, stopping = batch_take(slots, self.max_batch)
            if not batch:
                break
            try:
                self._write(batch)
            except BaseException as exc:  # the writer must outlive any error; each caller gets it
                logger.exception("intake writer failed on a batch of %d", len(batch))
                for slot in batch:
                    if not slot.resolved:
                        slot.resolve(error=exc)
        connection.close()

    def _take_on_fresh_connection(self, readings: list[EventReading]) -> list[Intake]:
        # one transaction, safe to run again: a connection a restart killed is replaced, not failed
        return on_fresh_connection(lambda: self._take_many(readings))

    def _write(self, batch: list[_Slot]) -> None:
        close_old_connections()  # drop a connection that broke or outlived CONN_MAX_AGE
        readings = [slot.reading for slot in batch]
        INTAKE_BATCH.observe(len(readings))
        try:
            intakes = self._take_on_fresh_connection(readings)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].resolve(error=exc)
                return
            logger.warning("a batch of %d events failed (%s); taking them in one by one", len(batch), exc)
            for slot in batch:
                close_old_connections()
                try:
                    slot.resolve(self._take_on_fresh_connection([slot.reading])[0])
                except Exception as single_exc:
                    slot.resolve(error=single_exc)
            return
        for slot, intake in zip(batch, intakes, strict=True):
            slot.resolve(intake)
