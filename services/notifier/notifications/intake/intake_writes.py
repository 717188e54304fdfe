"""What the intake step writes, in the caller's transaction: the new inbox rows, the released ones, the effects
(notifications and deliveries) from their stored form, the gaps late arrivals close, and the cursors.

A webhook delivery is written with its endpoint, so the delivery workers claim it as it is; one to a disabled
endpoint is written failed, with the endpoint's reason. On PostgreSQL the statement finds the endpoints that exist
and only those seen first are made afterwards (``endpoints_attach``): making one waits for any transaction
updating it, as the delivery workers' records do. The ORM path attaches them all that way.

On PostgreSQL each is one statement of fixed text whose rows arrive as one JSON array (``_PG``: one round trip
per write, planned once; found by index, see ``sequencing.pg_rows``); other databases (SQLite, for
development) write the same rows through the ORM.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from notifications.delivery.endpoints import ENDED_BY_DISABLING, EndpointKey, endpoints_attach
from notifications.intake.event_plan import IntakePlan
from notifications.intake.sequencing import Aggregate, Position, on_postgresql, pg_rows
from notifications.models import (
    AggregateCursor,
    Channel,
    Delivery,
    DeliveryStatus,
    EndpointState,
    InboxEvent,
    Notification,
)

#: The envelope's fields an inbox row keeps, each a column of the same name.
INBOX_ENVELOPE_FIELDS = (
    "event_id", "event_type", "aggregate_type", "aggregate_id", "sequence", "occurred_at", "correlation_id",
    "traceparent",
)  # fmt: skip

#: One effect to write: the inbox row's id, its event type, and its effects as stored (``IntakePlan.effects``).
Effect = tuple[int, str, dict[str, Any]]


#: The PostgreSQL statements of the writes, each reading its rows from JSON arrays.
_PG = {
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
    # a webhook's endpoint found by its key (LATERAL: an index probe per row); failed at once when it is disabled
    "deliveries": f"""
        INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                       endpoint_id, created_at, updated_at)
        SELECT t.event_id, t.channel, t.target, t.subject, t.body,
               CASE WHEN e.state = '{EndpointState.DISABLED.value}' THEN '{DeliveryStatus.FAILED.value}'
                    ELSE '{DeliveryStatus.PENDING.value}' END, 0,
               CASE WHEN e.state = '{EndpointState.DISABLED.value}' THEN '{ENDED_BY_DISABLING}' || e.state_reason
                    ELSE '' END,
               e.id, now(), now()
        FROM json_to_recordset(%s::json) AS t(event_id bigint, channel text, target text, subject text, body text,
                                              project_id bigint, ord integer)
        LEFT JOIN LATERAL (
            SELECT id, state, state_reason FROM notifier_webhook_endpoint
            WHERE t.channel = '{Channel.WEBHOOK.value}' AND project_id = t.project_id AND url = t.target LIMIT 1
        ) AS e ON true
        ORDER BY t.ord
        RETURNING id, event_id, channel, target, endpoint_id""",
    # (its rows given twice, as "release")
    "cursors": """
        UPDATE notifier_aggregate AS c SET applied = v.applied, waiting = v.waiting, updated_at = now()
        FROM json_to_recordset(%s::json) AS v(id bigint, applied integer, waiting integer)
        WHERE c.id = ANY(ARRAY(SELECT (e ->> 'id')::bigint FROM json_array_elements(%s::json) AS e)) AND c.id = v.id""",
}


#: The inbox columns a new row is written with, besides ``received_at``.
_INBOX_COLUMNS = (*INBOX_ENVELOPE_FIELDS, "schema_version", "status", "reason", "raw", "late", "effects")
#: Rows per INSERT (SQLite takes at most 999 parameters in one statement).
_INSERT_ROWS = 60


def _inbox_row(plan: IntakePlan, status: str, kept: dict[str, Any] | None) -> dict[str, Any]:
    """A new inbox row's values, by column (``_INBOX_COLUMNS``)."""
    return {
        **{name: getattr(plan.envelope, name) for name in INBOX_ENVELOPE_FIELDS},
        "schema_version": plan.reading.received_version, "status": status, "reason": plan.reading.reason,
        "raw": plan.reading.raw, "late": plan.late, "effects": kept,
    }  # fmt: skip


def inbox_rows_insert(rows: Sequence[tuple[IntakePlan, str, dict[str, Any] | None]]) -> dict[Any, int]:
    """Insert one inbox row per (plan, status, effects kept while it waits), skipping event ids the inbox has
    (``ON CONFLICT DO NOTHING``: a concurrent delivery of the same event waits for the first and adds nothing);
    the ids of the rows inserted, by event id."""
    if on_postgresql():
        found = pg_rows(_PG["inbox"], [{**_inbox_row(*row), "ord": n} for n, row in enumerate(rows)]) if rows else []
        return {event_id: pk for pk, event_id in found}
    fields = [InboxEvent._meta.get_field(name) for name in _INBOX_COLUMNS]
    inserted: dict[Any, int] = {}
    for start in range(0, len(rows), _INSERT_ROWS):
        chunk = rows[start : start + _INSERT_ROWS]
        values: list[Any] = []
        for plan, status, kept in chunk:
            row = _inbox_row(plan, status, kept)
            values += [field.get_db_prep_save(row[field.name], connection) for field in fields]
        one = "(" + ", ".join(["%s"] * len(fields)) + ", CURRENT_TIMESTAMP)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {InboxEvent._meta.db_table} ({', '.join(_INBOX_COLUMNS)}, received_at) "
                f"VALUES {', '.join([one] * len(chunk))} ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id",
                values,
            )
            found = cursor.fetchall()
        event_id = InboxEvent._meta.get_field("event_id")
        for pk, key in found:
            inserted[event_id.to_python(key)] = int(pk)
    return inserted


def inbox_rows_release(released: Sequence[tuple[int, str]]) -> None:
    """Give waiting or held rows (id, status) their status: their effects are written now, none are kept."""
    if released and on_postgresql():
        rows = [{"id": pk, "status": status} for pk, status in released]
        pg_rows(_PG["release"], rows, rows)
    elif released:
        InboxEvent.objects.filter(pk__in=[pk for pk, _ in released]).update(
            status=Case(*(When(pk=pk, then=Value(status)) for pk, status in released)), effects=None, reason=""
        )


def effects_write(effects: Sequence[Effect]) -> dict[int, tuple[int, ...]]:
    """Write the notifications and deliveries of ``effects``, in order; each inbox id's delivery ids."""
    ids: dict[int, tuple[int, ...]] = {inbox_id: () for inbox_id, _, _ in effects}
    project_of = {inbox_id: kept["project_id"] for inbox_id, _, kept in effects}
    unattached: dict[EndpointKey, list[int]] = defaultdict(list)  # webhooks whose endpoint did not exist
    if on_postgresql():
        notices = [
            {"event_id": inbox_id, "event_type": event_type, "project_id": kept["project_id"],
             "recipient": kept["recipient"], "subject": kept["subject"], "body": kept["body"], "ord": n}
            for n, (inbox_id, event_type, kept) in enumerate(effects) if kept["notify"]
        ]  # fmt: skip
        sends = [
            {"event_id": inbox_id, **{key: d[key] for key in ("channel", "target", "subject", "body")},
             "project_id": kept["project_id"], "ord": n}
            for n, (inbox_id, _, kept) in enumerate(effects) for d in kept["deliveries"]
        ]  # fmt: skip
        if notices:
            pg_rows(_PG["notifications"], notices)
        for pk, inbox_id, channel, target, endpoint_id in sorted(pg_rows(_PG["deliveries"], sends)) if sends else []:
            ids[inbox_id] += (pk,)
            if channel == Channel.WEBHOOK and endpoint_id is None:
                unattached[(project_of[inbox_id], target)].append(pk)
        endpoints_attach(unattached)
        return ids
    now = timezone.now()
    notifications = [
        Notification(
            event_id=inbox_id,
            event_type=event_type,
            project_id=kept["project_id"],
            recipient=kept["recipient"],
            channel=Channel.IN_APP.value,
            subject=kept["subject"],
            body=kept["body"],
            created_at=now,
        )
        for inbox_id, event_type, kept in effects
        if kept["notify"]
    ]
    deliveries = [
        Delivery(
            event_id=inbox_id,
            channel=d["channel"],
            target=d["target"],
            subject=d["subject"],
            body=d["body"],
            status=DeliveryStatus.PENDING.value,
            created_at=now,
            updated_at=now,
        )
        for inbox_id, _, kept in effects
        for d in kept["deliveries"]
    ]
    Notification.objects.bulk_create(notifications)
    for delivery in Delivery.objects.bulk_create(deliveries):
        ids[delivery.event_id] += (delivery.pk,)
        if delivery.channel == Channel.WEBHOOK:
            unattached[(project_of[delivery.event_id], delivery.target)].append(delivery.pk)
    endpoints_attach(unattached)
    return ids


def cursors_write(moves: dict[Aggregate, tuple[int, int]], positions: dict[Aggregate, Position]) -> None:
    """Set the locked cursors whose (applied, waiting) changed: one statement for all of them."""
    changed = {agg: move for agg, move in moves.items() if move != positions[agg].seen}
    if not changed:
        return
    pks = {positions[agg].cursor_id: move for agg, move in changed.items()}
    if on_postgresql():
        rows = [{"id": pk, "applied": applied, "waiting": waiting} for pk, (applied, waiting) in pks.items()]
        pg_rows(_PG["cursors"], rows, rows)
        return
    AggregateCursor.objects.filter(pk__in=list(pks)).update(
        applied=Case(*(When(pk=pk, then=Value(a)) for pk, (a, _) in pks.items()), output_field=IntegerField()),
        waiting=Case(*(When(pk=pk, then=Value(w)) for pk, (_, w) in pks.items()), output_field=IntegerField()),
        updated_at=timezone.now(),
    )


def gaps_filled(arrivals: Iterable[IntakePlan]) -> list[tuple[Aggregate, int, Any]]:
    """The (aggregate, sequence, event id) of late arrivals: the gaps they close."""
    return [(plan.aggregate, plan.envelope.sequence, plan.envelope.event_id) for plan in arrivals if plan.late]
