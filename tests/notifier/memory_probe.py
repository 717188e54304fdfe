"""Run the notifier's own actor in a Dramatiq worker in this process and report what it keeps per message.

``python -m tests.notifier.memory_probe WARMUP COUNT`` (DATABASE_URL, REDIS_URL and the e-mail
settings from the environment) prints one JSON object: the Python memory still allocated after
COUNT more messages than after the warm-up, per message, with garbage collected both times.
"""

from __future__ import annotations

import gc
import json
import sys
import tracemalloc
import uuid

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from codegen_contracts import EVENTS_QUEUE, envelope_to_builtins
from tests.notifier.conftest import envelope, events_message, generation_payload
from tests.support import poll


def _feed(redis_url: str, count: int, first: int) -> None:
    """``count`` events (every tenth delivered twice and sent by e-mail), then wait until all are acked."""
    broker = RedisBroker(url=redis_url)
    broker.declare_queue(EVENTS_QUEUE)
    for n in range(first, first + count):
        email = "team@example.com" if n % 10 == 0 else None
        event = envelope(
            payload=generation_payload(notification_email=email), event_id=uuid.uuid4(), aggregate_id=str(n), sequence=1
        )
        message = events_message(envelope_to_builtins(event), str(event.event_id))
        broker.enqueue(message)
        if n % 10 == 0:
            broker.enqueue(message)
    broker.close()
    client = redis.Redis.from_url(redis_url)
    drained = poll(
        lambda: (
            not client.llen(f"dramatiq:{EVENTS_QUEUE}")
            and not any(client.scard(k) for k in client.keys("dramatiq:__acks__*"))
        ),
        timeout=300,
    )
    if not drained:
        raise RuntimeError("the worker did not drain the queue in 300 s")
    client.close()  # a message is acked only once its actor returned: its deliveries are settled


def main(warmup: int, count: int) -> None:
    from django.conf import settings

    import notifications.worker as worker_module

    worker = dramatiq.Worker(worker_module.broker, worker_threads=8)
    worker.start()
    try:
        _feed(settings.REDIS.url, warmup, 0)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _feed(settings.REDIS.url, count, warmup)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        top = tracemalloc.take_snapshot().statistics("lineno")[:12]
    finally:
        worker.stop()
        worker_module.intake_writer.stop()
    print(json.dumps({"per_message": (after - before) / count, "top": [str(stat) for stat in top]}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
