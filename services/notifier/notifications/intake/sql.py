"""The intake step's SQL on PostgreSQL, in one place: each statement has a fixed text and takes its rows as
JSON arrays, so that one round trip writes a batch and its plan is made once. Every lookup probes an index per
row (``LATERAL``, ``ON CONFLICT``): a join planned while the tables were nearly empty would scan them, slower
with every row stored. Measured against the same writes through the ORM (which SQLite uses): see the commit
that brought them."""

from __future__ import annotations

from typing import Any

import msgspec
from django.db import connection


def on_postgresql() -> bool:
    """Whether the intake step runs its own statements (PostgreSQL) or the ORM's."""
    return connection.vendor == "postgresql"


#: The PostgreSQL statements, each reading its rows from one JSON array parameter.
PG = {
    "inbox": """
        INSERT INTO notifier_inbox (event_id, event_type, aggregate_type, aggregate_id, sequence, occurred_at,
                                    correlation_id, traceparent, schema_version, status, reason, raw, late, effects,
                                    received_at)
        SELECT event_id, event_type, aggregate_type, aggregate_id, sequence, occurred_at, correlation_id, traceparent,
               schema_version, status, reason, raw, late, effects, now()
        FROM json_to_recordset(%s::json) AS t(
            event_id uuid, event_type text, aggregate_type text, aggregate_id text, sequence integer,
            occurred_at timestamptz, correlation_id text, traceparent text, schema_version integer, status text,
            reason text, raw jsonb, late boolean, effects jsonb, ord integer)
        ORDER BY ord
        ON CONFLICT (event_id) DO NOTHING
        RETURNING id, event_id""",
    # (its rows given twice: found by primary key with = ANY, so that no plan joins by scanning the inbox)
    "release": """
        UPDATE notifier_inbox AS w SET status = v.status, effects = NULL, reason = ''
        FROM json_to_recordset(%s::json) AS v(id bigint, status text)
        WHERE w.id = ANY(ARRAY(SELECT (e ->> 'id')::bigint FROM json_array_elements(%s::json) AS e)) AND w.id = v.id""",
    "notifications": """
        INSERT INTO notifier_notification (event_id, event_type, project_id, recipient, channel, subject, body,
                                           created_at)
        SELECT event_id, event_type, project_id, recipient, 'in_app', subject, body, now()
        FROM json_to_recordset(%s::json) AS t(event_id bigint, event_type text, project_id bigint, recipient text,
                                              subject text, body text, ord integer)
        ORDER BY ord""",
    "deliveries": """
        INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                       created_at, updated_at)
        SELECT event_id, channel, target, subject, body, 'pending', 0, '', now(), now()
        FROM json_to_recordset(%s::json) AS t(event_id bigint, channel text, target text, subject text, body text,
                                              ord integer)
        ORDER BY ord
        RETURNING id, event_id""",
    # creates the cursors that are missing and locks every one, in the order given ((type, id) order)
    "lock": """
        INSERT INTO notifier_aggregate (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
        SELECT aggregate_type, aggregate_id, 0, 0, 0, now()
        FROM json_to_recordset(%s::json) AS v(aggregate_type text, aggregate_id text, n integer) ORDER BY n
        ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
        RETURNING id, aggregate_type, aggregate_id, applied, waiting""",
    # which event ids the inbox has, then the waiting rows of the aggregates given (effects as JSON text)
    "read": """
        SELECT k.id, k.event_id, k.status, k.aggregate_type, k.aggregate_id, k.sequence, k.event_type,
               k.occurred_at, k.received_at, k.effects::text
        FROM json_array_elements_text(%s::json) AS e(event_id)
        CROSS JOIN LATERAL (SELECT * FROM notifier_inbox WHERE event_id = e.event_id::uuid LIMIT 1) k
        UNION ALL
        SELECT w.id, w.event_id, w.status, w.aggregate_type, w.aggregate_id, w.sequence, w.event_type,
               w.occurred_at, w.received_at, w.effects::text
        FROM json_to_recordset(%s::json) AS a(aggregate_type text, aggregate_id text)
        CROSS JOIN LATERAL (
            SELECT * FROM notifier_inbox WHERE status = 'waiting' AND aggregate_type = a.aggregate_type
                AND aggregate_id = a.aggregate_id
            OFFSET 0
        ) w""",
    # (its rows given twice, as "release")
    "cursors": """
        UPDATE notifier_aggregate AS c SET applied = v.applied, waiting = v.waiting, updated_at = now()
        FROM json_to_recordset(%s::json) AS v(id bigint, applied integer, waiting integer)
        WHERE c.id = ANY(ARRAY(SELECT (e ->> 'id')::bigint FROM json_array_elements(%s::json) AS e)) AND c.id = v.id""",
}


def pg_rows(name: str, *inputs: list[Any]) -> list[tuple[Any, ...]]:
    """Run the PostgreSQL statement ``name`` on ``inputs`` (each sent as one JSON array); the rows it returns."""
    with connection.cursor() as cursor:
        cursor.execute(PG[name], [msgspec.json.encode(rows).decode() for rows in inputs])
        return cursor.fetchall() if cursor.description else []
