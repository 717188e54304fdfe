"""Publishing claimed rows as standard Dramatiq messages, one Redis round trip per batch.

Each message goes through Dramatiq's own ``dispatch`` Lua script (command ``enqueue``) in a
Redis pipeline, so its format is exactly what ``RedisBroker.enqueue`` writes and any Dramatiq
worker consumes it. Broker middleware ``before_enqueue`` hooks do not run on this path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import redis
import tenacity
from dramatiq.brokers.redis import RedisBroker

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, InvalidEnvelope, event_spec, payload_validate_json
from outbox.store import ClaimedRow

logger = logging.getLogger(__name__)

#: Passed where Dramatiq's script expects its max unpack size; ``enqueue`` does not use it.
_UNUSED_MAX_UNPACK = 1


class PublishError(Exception):
    """A publish attempt failed for reasons that may pass (broker unreachable, out of memory)."""


@dataclass(frozen=True)
class Prepared:
    """A claimed row with its encoded Dramatiq message."""

    row: ClaimedRow
    redis_message_id: str
    data: bytes


class _Envelope(msgspec.Struct):
    """The contracts' envelope on the wire, with the stored payload JSON passed through as is."""

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    correlation_id: str | None
    payload: msgspec.Raw


class _Message(msgspec.Struct):
    """``dramatiq.Message.asdict()``: the fields Dramatiq's JSON encoder writes."""

    queue_name: str
    actor_name: str
    args: tuple[_Envelope]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    message_id: str
    message_timestamp: int


_encoder = msgspec.json.Encoder()


def prepare(row: ClaimedRow, redis_message_id: str) -> Prepared:
    """Validate a row against its contract and encode its Dramatiq message.

    The message is what ``RedisBroker.enqueue`` would store: the envelope as the one argument,
    the event id as message id; ``redis_message_id`` must be unique per enqueue (Dramatiq uses it
    to ack). Raises a ContractError for a row that breaks its contract.
    """
    spec = event_spec(row.event_type)
    if row.schema_version != spec.version:
        raise InvalidEnvelope(f"{row.event_type} has schema version {row.schema_version}, expected {spec.version}")
    payload = row.payload_json.encode()
    payload_validate_json(row.event_type, payload)
    message = _Message(
        queue_name=EVENTS_QUEUE,
        actor_name=EVENTS_ACTOR,
        args=(
            _Envelope(
                event_id=row.event_id,
                event_type=row.event_type,
                schema_version=row.schema_version,
                occurred_at=row.occurred_at,
                aggregate_type=row.aggregate_type,
                aggregate_id=row.aggregate_id,
                sequence=row.sequence,
                correlation_id=row.correlation_id,
                payload=msgspec.Raw(payload),
            ),
        ),
        kwargs={},
        options={"redis_message_id": redis_message_id},
        message_id=row.event_id,
        message_timestamp=int(time.time() * 1000),
    )
    return Prepared(row=row, redis_message_id=redis_message_id, data=_encoder.encode(message))


class DramatiqRedisPublisher:
    """Enqueues prepared messages onto the events queue with one pipelined round trip."""

    def __init__(self, redis_url: str, *, namespace: str = "dramatiq", timeout: float = 5.0) -> None:
        pool = redis.ConnectionPool.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self.client = redis.Redis(connection_pool=pool)
        self.broker = RedisBroker(client=self.client, namespace=namespace)
        self.broker.declare_queue(EVENTS_QUEUE)
        self.namespace = namespace
        self._script = self.broker.scripts["dispatch"]

    def publish(self, batch: list[Prepared]) -> list[tuple[Prepared, str]]:
        """Enqueue ``batch``; return the messages Redis refused, with its error.

        Raises PublishError when Redis cannot be reached or refuses every message.
        """
        if not batch:
            return []
        try:
            return self._publish(batch)
        except redis.exceptions.NoScriptError:
            self.client.script_load(self._script.script)  # Redis restarted and forgot the script
            return self._publish(batch)
        except redis.RedisError as exc:
            raise PublishError(f"{type(exc).__name__}: {exc}") from exc

    def _publish(self, batch: list[Prepared]) -> list[tuple[Prepared, str]]:
        now_ms = int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=False)
        for item in batch:
            pipe.evalsha(
                self._script.sha,
                1,
                self.namespace,
                "enqueue",
                now_ms,
                EVENTS_QUEUE,
                self.broker.broker_id,
                self.broker.heartbeat_timeout,
                self.broker.dead_message_ttl,
                0,
                _UNUSED_MAX_UNPACK,
                item.redis_message_id,
                item.data,
            )
        results = pipe.execute(raise_on_error=False)
        if any(isinstance(result, redis.exceptions.NoScriptError) for result in results):
            raise redis.exceptions.NoScriptError("dispatch script not loaded")
        refused = [
            (item, str(result)) for item, result in zip(batch, results, strict=True) if isinstance(result, Exception)
        ]
        if len(refused) == len(batch):
            raise PublishError(f"Redis refused the whole batch: {refused[0][1]}")
        return refused

    def wait_until_reachable(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for Redis to answer; True when it does."""
        try:
            for attempt in tenacity.Retrying(
                stop=tenacity.stop_after_delay(timeout),
                wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1),
                retry=tenacity.retry_if_exception_type(redis.RedisError),
                reraise=True,
            ):
                with attempt:
                    self.client.ping()
        except redis.RedisError:
            return False
        return True

    def durability_warnings(self) -> list[str]:
        """What about this Redis could evict or forget queued messages (empty when all is well)."""
        try:
            policy = self.client.config_get("maxmemory-policy").get("maxmemory-policy")
            appendonly = self.client.config_get("appendonly").get("appendonly")
        except redis.RedisError as exc:
            return [f"cannot read the Redis configuration ({exc}); make sure it runs with noeviction and appendonly"]
        warnings = []
        if policy != "noeviction":
            warnings.append(f"Redis maxmemory-policy is {policy!r}: under memory pressure it evicts queued events")
        if appendonly != "yes":
            warnings.append("Redis appendonly is off: a restart can forget queued events")
        return warnings

    def close(self) -> None:
        self.client.close()
