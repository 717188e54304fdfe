"""Acknowledging many messages in one Redis call: the notifier's Dramatiq consumer.

Dramatiq's Redis consumer acknowledges each message with its own script call, from the worker
thread that processed it; under load that is about a quarter of the worker's CPU. Here the
threads append their message ids to one list, and whichever thread finds no flush under way
sends everything listed, and goes on until the list is empty, in one call per round. A lone
ack is sent at once, as before; under load, one call carries the acks of every thread that
finished meanwhile.

A thread whose id another thread sends returns before the call completes. If the process dies
in that moment, those messages are redelivered (after the heartbeat timeout) and the inbox
makes the redelivery a duplicate, as when a process dies just before it acknowledges.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.errors import ConnectionClosed

logger = logging.getLogger(__name__)

#: What Dramatiq's dispatch script does for one "ack", for each id given: drop it from this
#: worker's ack set and, only if it was there, its data (a message given back to the queue by
#: maintenance meanwhile keeps its data for whoever takes it next).
ACK_MANY_LUA = """
local acked = 0
for i = 1, #ARGV do
    if redis.call("srem", KEYS[1], ARGV[i]) > 0 then
        redis.call("hdel", KEYS[2], ARGV[i])
        acked = acked + 1
    end
end
return acked
"""


class BatchingAckConsumer(_RedisConsumer):  # type: ignore[misc]  # Dramatiq's consumer_class extension point
    """A Redis consumer whose acks, made from many worker threads, go to Redis together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ack_lock = threading.Lock()
        self._unsent: list[str] = []
        self._sending = False

    def ack(self, message: Any) -> None:
        self.queued_message_ids.discard(message.message_id)  # frees its prefetch slot, as Dramatiq does
        with self._ack_lock:
            self._unsent.append(message.options["redis_message_id"])
            if self._sending:
                return  # the thread sending now picks it up before it stops
            self._sending = True
        self._send_acks()

    def unsent(self) -> int:
        """Acks listed but not sent yet."""
        with self._ack_lock:
            return len(self._unsent)

    def close(self) -> None:
        try:
            with self._ack_lock:
                send = not self._sending and bool(self._unsent)
                if send:
                    self._sending = True
            if send:
                self._send_acks()
        except Exception as exc:  # closing must not fail over acks: unsent, they are only redeliveries
            logger.warning(
                "acks of %s not sent on close (%s); redelivered later, ignored by the inbox", self.queue_name, exc
            )
        finally:
            super().close()

    def _send_acks(self) -> None:
        """Send every listed ack, round after round, until none is left; only one thread at a time."""
        batch: list[str] = []
        try:
            while True:
                with self._ack_lock:
                    batch, self._unsent = self._unsent, []
                    if not batch:
                        self._sending = False
                        return
                self.broker.ack_many(self.queue_name, batch)
        except BaseException as exc:
            with self._ack_lock:  # keep them for the next ack (Dramatiq retries a failed one)
                self._unsent[:0] = batch
                self._sending = False
            if isinstance(exc, redis.ConnectionError):
                raise ConnectionClosed(exc) from None
            raise
