"""Fast set-up of many pending outbox rows (valid generation.started events) straight in SQL.

For tests and benchmarks on PostgreSQL; the rows are what the writer would have written.
"""

from __future__ import annotations

import json

from django.db import connection

#: A valid ``generation.started`` payload, the same for every row.
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
