"""Many pending outbox rows at once, and what reached the events queue."""

from __future__ import annotations

import json
from collections import Counter

import redis

from devinfra.outbox_rows import PAYLOAD, pending_rows_insert

__all__ = ["PAYLOAD", "pending_rows_insert", "queued_message_ids"]


def queued_message_ids(redis_url: str) -> Counter[str]:
    """Message ids of every message enqueued on the events queue (one per publish)."""
    client = redis.Redis.from_url(redis_url)
    try:
        values = client.hvals("dramatiq:codegen-events.msgs")
    finally:
        client.close()
    return Counter(json.loads(value)["message_id"] for value in values)
