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

from codegen_config import RedisTarget
from codegen_contracts import EVENTS_QUEUE
from codegen_contracts.wire import enqueue_script_args, message_encode, wire_envelope_check
from outbox.errors import PublishError
from outbox.store import ClaimedRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A claimed row with its encoded Dramatiq message."""

    row: ClaimedRow
    redis_message_id: str
    data: bytes


def prepare(row: ClaimedRow, redis_message_id: str, *, traceparent: str | None = None) -> Prepared:
    """Validate a row against its contract and encode its Dramatiq message (``codegen_contracts.wire``).

    ``redis_message_id`` must be unique per enqueue (Dramatiq acknowledges by it); ``traceparent``,
    when given, replaces the envelope's (the relay's publish span). Raises a ContractError for a row
    that breaks its contract.
    """
    envelope = row.envelope
    wire_envelope_check(envelope)
    if traceparent is not None:
        envelope = msgspec.structs.replace(envelope, traceparent=traceparent)
    data = message_encode(envelope, redis_message_id=redis_message_id, timestamp_ms=int(time.time() * 1000))
    return Prepared(row=row, redis_message_id=redis_message_id, data=data)


class DramatiqRedisPublisher:
    """Enqueues prepared messages onto the events queue with one pipelined round trip.

    With ``min_replicas`` the round trip ends with Redis ``WAIT min_replicas replica_timeout``: a
    batch that fewer replicas acknowledged in time raises PublishError (its rows are retried, never
    marked published), so a failover to a replica cannot forget what the outbox considers sent.
    """

    def __init__(
        self,
        redis_target: RedisTarget | str,
        *,
        namespace: str = "dramatiq",
        timeout: float = 5.0,
        min_replicas: int = 0,
        replica_timeout: float = 1.0,
    ) -> None:
        target = RedisTarget(url=redis_target) if isinstance(redis_target, str) else redis_target
        self.client = target.client(timeout=timeout, health_check_interval=30)
        self.min_replicas = min_replicas
        self.replica_timeout_ms = max(1, int(replica_timeout * 1000))
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

    def enqueue_args(self, item: Prepared, now_ms: int) -> list[Any]:
        """The dispatch script's arguments for enqueuing ``item`` as this publisher's broker would."""
        return enqueue_script_args(
            queue_name=EVENTS_QUEUE,
            redis_message_id=item.redis_message_id,
            data=item.data,
            now_ms=now_ms,
            broker_id=self.broker.broker_id,
            heartbeat_timeout_ms=self.broker.heartbeat_timeout,
            dead_message_ttl_ms=self.broker.dead_message_ttl,
        )

    def _publish(self, batch: list[Prepared]) -> list[tuple[Prepared, str]]:
        now_ms = int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=False)
        for item in batch:
            pipe.evalsha(self._script.sha, 1, self.namespace, *self.enqueue_args(item, now_ms))
        if self.min_replicas:
            pipe.execute_command("WAIT", self.min_replicas, self.replica_timeout_ms)
        results = pipe.execute(raise_on_error=False)
        if any(isinstance(result, redis.exceptions.NoScriptError) for result in results):
            raise redis.exceptions.NoScriptError("dispatch script not loaded")
        if self.min_replicas:
            replicas = results.pop()
            if isinstance(replicas, Exception) or replicas < self.min_replicas:
                raise PublishError(
                    f"{replicas if isinstance(replicas, int) else 'no'} of {self.min_replicas} replicas acknowledged "
                    f"the batch within {self.replica_timeout_ms} ms (OUTBOX_MIN_REPLICAS): not marked published"
                )
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
        if self.min_replicas:
            try:
                replicas = int(self.client.info("replication").get("connected_slaves", 0))
            except redis.RedisError as exc:
                replicas = 0
                warnings.append(f"cannot read the Redis replication state ({exc})")
            if replicas < self.min_replicas:
                warnings.append(
                    f"Redis has {replicas} connected replicas, fewer than OUTBOX_MIN_REPLICAS={self.min_replicas}: "
                    "nothing is marked published until enough replicas acknowledge it"
                )
        if policy != "noeviction":
            warnings.append(f"Redis maxmemory-policy is {policy!r}: under memory pressure it evicts queued events")
        if appendonly != "yes":
            warnings.append("Redis appendonly is off: a restart can forget queued events")
        return warnings

    def close(self) -> None:
        self.client.close()
