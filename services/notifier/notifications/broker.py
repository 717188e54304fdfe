"""The notifier's Dramatiq broker: Redis, with a short idle poll so an event is handled within ms."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import msgspec
from dramatiq import Encoder
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import DecodeError
from dramatiq.middleware import CurrentMessage

from codegen_config import RedisTarget
from notifications.acks import ACK_MANY_LUA, BatchingAckConsumer
from notifications.config import NotifierConfig

logger = logging.getLogger(__name__)

#: Longest idle sleep between fetches of an empty queue, in ms (Dramatiq's own 1,000 would add up to a second
#: of latency to an event arriving at an idle worker).
IDLE_POLL_MS = 10


class MsgspecJSONEncoder(Encoder):
    """Dramatiq's JSON message format, read and written by msgspec (several times faster than json)."""

    def encode(self, data: Any) -> bytes:
        return msgspec.json.encode(data)

    def decode(self, data: bytes) -> Any:
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise DecodeError(f"failed to decode message {data[:200]!r}", data, exc) from None


class NotifierRedisBroker(RedisBroker):
    """A RedisBroker for the notifier worker: short idle polls, acks sent together, and no message
    stranded by a reconnect.

    - Dramatiq's worker passes its idle timeout (1 s by default, no CLI flag) to ``consume``;
      capping it at ``idle_poll_ms`` keeps end-to-end latency in milliseconds.
    - Its consumers send the acks of many worker threads in one call (notifications.acks).
    - A fetch moves messages into this worker's ack set in Redis. When the connection breaks (Redis
      restarted, failed over, a network cut), the messages of a fetch whose reply was lost, and the
      delayed ones the worker held in memory, stay in that set. Dramatiq gives an ack set back to
      its queue only once its worker id stops heartbeating, which never happens while the process
      lives. So a consumer that is started again for a queue (Dramatiq does that only after a
      connection error) takes a new worker id: the old one stops heartbeating and Dramatiq's own
      dead-worker maintenance redelivers what it held after ``heartbeat_timeout``. Messages that
      were in flight at that moment are delivered once more; the inbox makes that harmless.
    """

    def __init__(self, *, idle_poll_ms: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.idle_poll_ms = idle_poll_ms
        self._consumed: set[str] = set()
        self._consumed_lock = threading.Lock()
        self._ack_many = self.client.register_script(ACK_MANY_LUA)

    @property
    def consumer_class(self) -> type[BatchingAckConsumer]:
        return BatchingAckConsumer

    def ack_many(self, queue_name: str, redis_message_ids: list[str]) -> None:
        """Acknowledge messages this worker fetched from ``queue_name`` (see notifications.acks)."""
        acks = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        self._ack_many(keys=[acks, f"{self.namespace}:{queue_name}.msgs"], args=redis_message_ids)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        with self._consumed_lock:
            if queue_name in self._consumed:
                self._take_new_worker_id(queue_name)
            self._consumed.add(queue_name)
        return super().consume(queue_name, prefetch=prefetch, timeout=min(timeout, self.idle_poll_ms))

    def _take_new_worker_id(self, queue_name: str) -> None:
        old, self.broker_id = self.broker_id, str(uuid.uuid4())
        logger.warning(
            "consumer of %s restarted after a connection error: worker id %s replaces %s; "
            "what the old id still holds is redelivered after %d ms",
            queue_name, self.broker_id, old, self.heartbeat_timeout,
        )  # fmt: skip


def notifier_broker(redis: RedisTarget, config: NotifierConfig) -> NotifierRedisBroker:
    """The broker the worker uses, on ``redis`` (one server, or the primary Sentinel names: after a failover
    the consumers reconnect to the promoted replica), configured from NOTIFIER settings."""
    broker = NotifierRedisBroker(
        client=redis.client(timeout=config.redis_timeout, health_check_interval=30),
        idle_poll_ms=IDLE_POLL_MS,
        heartbeat_timeout=config.heartbeat_timeout_ms,
        maintenance_chance=config.maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    return broker
