"""Fast set-up of many pending outbox rows (valid generation.started events) straight in SQL."""

from __future__ import annotations

import json
from collections import Counter

import redis
from django.db import connection

PAYLOAD = {
    "project_id": 1,
    "project_name": "bulk",
    "owner_id": 1,
    "notification_email": None,
    "webhook_url": None,
    "generated_project_id": 1,
    "from_status": None,
    "to_status": "pending",
    "total_files": 0,
    "total_size": 0,
}


def pending_rows_insert(count: int) -> None:
    """Insert ``count`` pending rows, due now, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO outbox_event (event_id, event_type, schema_version, aggregate_type, aggregate_id,
                sequence, payload, headers, created_at, state, attempts, next_attempt_at, last_error)
            SELECT gen_random_uuid(), 'generation.started', 1, 'generated_project', n::text, 1,
                %s::jsonb, '{}'::jsonb, now(), 'pending', 0, now(), ''
            FROM generate_series(1, %s) AS n
            """,
            [json.dumps(PAYLOAD), count],
        )


def queued_message_ids(redis_url: str) -> Counter[str]:
    """Message ids of every message enqueued on the events queue (one per publish)."""
    client = redis.Redis.from_url(redis_url)
    try:
        values = client.hvals("dramatiq:codegen-events.msgs")
    finally:
        client.close()
    return Counter(json.loads(value)["message_id"] for value in values)
