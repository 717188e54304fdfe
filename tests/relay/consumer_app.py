"""A plain Dramatiq worker module that imports only the contracts: what a consumer looks like.

`dramatiq tests.relay.consumer_app` consumes the events queue and records each event id it
receives in the Redis list ``test:received`` (so tests can count deliveries).
"""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, envelope_from_builtins

#: Redis list of received event ids, in order of receipt.
RECEIVED_KEY = "test:received"

broker = RedisBroker(url=os.environ["REDIS_URL"])
dramatiq.set_broker(broker)
sink = redis.Redis.from_url(os.environ["REDIS_URL"])


@dramatiq.actor(actor_name=EVENTS_ACTOR, queue_name=EVENTS_QUEUE, max_retries=0)
def codegen_event(envelope: dict) -> None:
    event = envelope_from_builtins(envelope)  # the contract holds on the consumer's side too
    sink.rpush(RECEIVED_KEY, f"{event.event_id}|{event.event_type}|{event.sequence}")
