"""The baseline consumer: a Dramatiq actor with the events actor's name that does nothing."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE

dramatiq.set_broker(RedisBroker(url=os.environ["REDIS_URL"]))


@dramatiq.actor(actor_name=EVENTS_ACTOR, queue_name=EVENTS_QUEUE, max_retries=0)
def codegen_event(envelope: dict) -> None:
    return None
