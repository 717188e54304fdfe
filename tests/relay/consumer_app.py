"""A plain Dramatiq worker module that imports only the contracts: what a consumer looks like.

`dramatiq tests.relay.consumer_app` consumes the events queue and records each event id it
receives in the Redis list ``test:received`` (so tests can count deliveries).

That list lives in the broker's own Redis, so a broker outage also fails the consumer's write. A
real consumer's store (the notifier's database) does not go down with the broker; to behave like
one, the write waits the outage out instead of failing the message into the dead-letter queue.
"""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, envelope_from_builtins

#: Redis list of received event ids, in order of receipt.
RECEIVED_KEY = "test:received"

broker = RedisBroker(url=os.environ["REDIS_URL"])
dramatiq.set_broker(broker)
sink = redis.Redis.from_url(os.environ["REDIS_URL"])


@retry(
    retry=retry_if_exception_type(redis.ConnectionError), wait=wait_fixed(0.1), stop=stop_after_delay(120), reraise=True
)
def record(entry: str) -> None:
    sink.rpush(RECEIVED_KEY, entry)


@dramatiq.actor(actor_name=EVENTS_ACTOR, queue_name=EVENTS_QUEUE, max_retries=0)
def codegen_event(envelope: dict) -> None:
    event = envelope_from_builtins(envelope)  # the contract holds on the consumer's side too
    record(f"{event.event_id}|{event.event_type}|{event.sequence}")
