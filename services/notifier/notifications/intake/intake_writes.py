"""Writing intake plans: the inbox rows, notifications, deliveries and cursor moves of a batch, in one transaction.

On PostgreSQL one statement (data-modifying CTEs); elsewhere, or when asked, through the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from typing import Any

import msgspec
from django.db import connection, transaction
from django.utils import timezone

from notifications.intake.plans import IntakePlan
from notifications.intake.sequencing import CURSORS_MOVE_CHECKED, gaps_close
from notifications.models import AggregateCursor, Channel, InboxEvent, Notification

#: The envelope's fields an inbox row keeps, each a column of the same name, with its PostgreSQL type:
#: the one list both intake paths (and the JSON the single statement is sent) are built from.
INBOX_ENVELOPE_FIELDS: dict[str, str] = {
    "event_id": "uuid",
    "event_type": "text",
    "aggregate_type": "text",
    "aggregate_id": "text",
    "sequence": "integer",
    "occurred_at": "timestamptz",
    "correlation_id": "text",
    "traceparent": "text",
}
#: The inbox row's columns besides the envelope's fields, from the reading and the plan.
_INBOX_READING_COLUMNS = ("schema_version", "status", "reason", "raw", "late", "effects")
_INBOX_COLUMNS = ", ".join((*INBOX_ENVELOPE_FIELDS, *_INBOX_READING_COLUMNS))
#: What the single statement is sent per event besides the envelope's fields.
_PG_EVENT_EXTRA = {
    "schema_version": "integer",
    "status": "text",
    "reason": "text",
    "raw": "jsonb",
    "late": "boolean",
    "effects": "jsonb",
    "ord": "integer",
    "gate": "boolean",
    "released_id": "bigint",
    "notify": "boolean",
    "project_id": "bigint",
    "recipient": "text",
    "subject": "text",
    "body": "text",
}


def _inbox_values(plan: IntakePlan) -> dict[str, object]:
    """What an inbox row keeps, by column name (``_INBOX_COLUMNS``' order)."""
    reading = plan.reading
    return {
        **{name: getattr(reading.envelope, name) for name in INBOX_ENVELOPE_FIELDS},
        "schema_version": reading.received_version,
        "status": plan.status,
        "reason": reading.reason,
        "raw": reading.raw,
        "late": plan.late,
        "effects": plan.held,
    }


#: The events' JSON as the record type ``json_to_recordset`` reads it into.
PG_EVENT_COLUMNS = ", ".join(f"{name} {kind}" for name, kind in {**INBOX_ENVELOPE_FIELDS, **_PG_EVENT_EXTRA}.items())

#: One row to write: a plan, and the inbox id of the waiting row it releases (None for a new arrival).
IntakeWrite = tuple[IntakePlan, int | None]
#: An aggregate's cursor to set: ``{"t": type, "i": id, "applied": n, "waiting": n}``, and for a checked
#: move what it must still be: ``"seen": [applied, waiting]``, or None where there was no cursor.
CursorMove = dict[str, object]

#: Every event of a batch in one statement: data-modifying CTEs insert the new arrivals' inbox rows
#: (skipping event ids already there), give released waiting rows their status, write the
#: notifications and deliveries of both in the order given (``ord``: each aggregate's in sequence
#: order), close the gaps late arrivals fill, and move the aggregates' cursors. The events, deliveries
#: and cursors arrive as JSON arrays (much cheaper to send than a dozen typed arrays); the statement
#: answers with each event id that took effect (or was recorded) and its delivery ids.
_PG_INPUT = f"""
WITH input AS (
    SELECT * FROM json_to_recordset(%(events)s::json) AS t({PG_EVENT_COLUMNS})
)"""
#: Checked cursor moves (``pg_writes_checked``, see ``CURSORS_MOVE_CHECKED``); ``ok`` holds those that moved.
_PG_CHECKED = f""", moves AS (
    SELECT t, i, applied, waiting, seen[1] AS seen_applied, seen[2] AS seen_waiting
    FROM json_to_recordset(%(cursors)s::json) AS v(t text, i text, applied integer, waiting integer, seen integer[])
), ok AS ({CURSORS_MOVE_CHECKED.format(moves="moves")}
)"""
#: What a checked statement writes of an event: all of an aggregate whose cursor moved, nothing of one
#: whose cursor it could not move (``gate``: the event's aggregate has a cursor move).
_PG_GATE = (
    " AND (NOT input.gate OR EXISTS (SELECT FROM ok WHERE ok.t = input.aggregate_type AND ok.i = input.aggregate_id))"
)
_PG_INSERTED = """, inserted AS (
    INSERT INTO notifier_inbox ({columns}, received_at)
    SELECT {columns}, now() FROM input WHERE released_id IS NULL{gate}
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id
)"""
#: Released rows are found by primary key (``= ANY``) and cursors moved by upsert on their unique key, so that
#: both use an index whatever the planner thinks of the tables' size (a join with the JSON input was
#: planned as a sequential scan while the tables had no statistics, slower with every row stored).
_PG_RELEASED = """, released AS (
    UPDATE notifier_inbox AS w SET status = input.status, effects = NULL
    FROM input WHERE w.id = ANY(%(released)s::bigint[]) AND w.id = input.released_id AND w.status = 'waiting'{gate}
    RETURNING w.id, w.event_id
), inbox AS (
    SELECT id, event_id FROM inserted UNION ALL SELECT id, event_id FROM released
)"""
_PG_ONLY_INSERTED = """, inbox AS (SELECT id, event_id FROM inserted)"""
_PG_EFFECTS = """, notification AS (
    INSERT INTO notifier_notification (event_id, event_type, project_id, recipient, channel, subject, body,
                                       created_at)
    SELECT inbox.id, input.event_type, input.project_id, input.recipient, 'in_app', input.subject, input.body, now()
    FROM inbox JOIN input USING (event_id) WHERE input.notify ORDER BY input.ord
), deliveries AS (
    INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                   created_at, updated_at)
    SELECT inbox.id, d.channel, d.target, d.subject, d.body, 'pending', 0, '', now(), now()
    FROM inbox JOIN json_to_recordset(%(deliveries)s::json)
        AS d(event_id uuid, channel text, target text, subject text, body text, ord integer) USING (event_id)
    ORDER BY d.ord
    RETURNING id, event_id
)"""
#: A late arrival written closes the gap it fills.
_PG_GAPS_CLOSE = """, gaps_closed AS (
    UPDATE notifier_gap AS g SET closed_at = now(), closed_by = input.event_id
    FROM inserted JOIN input USING (event_id)
    WHERE input.late AND g.aggregate_type = input.aggregate_type AND g.aggregate_id = input.aggregate_id
        AND g.sequence = input.sequence AND g.closed_at IS NULL
)"""
#: Cursor moves whose rows the caller has locked (``pg_writes``).
_PG_CURSORS = """, cursors AS (
    INSERT INTO notifier_aggregate AS c (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
    SELECT v.t, v.i, v.applied, v.waiting, 0, now()
    FROM json_to_recordset(%(cursors)s::json) AS v(t text, i text, applied integer, waiting integer)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
        SET applied = EXCLUDED.applied, waiting = EXCLUDED.waiting, updated_at = EXCLUDED.updated_at
)"""
_PG_ANSWER = """
SELECT inbox.event_id, array(SELECT d.id FROM deliveries d WHERE d.event_id = inbox.id ORDER BY d.id), NULL, NULL
FROM inbox"""
_PG_ANSWER_MOVED = """
UNION ALL SELECT NULL, NULL, t, i FROM ok"""


@functools.cache
def _pg_take_sql(*, releases: bool, cursors: bool, checked: bool, late: bool) -> str:
    """The single statement, with the parts for released rows, cursor moves and gaps only when there are
    some (an empty join would still be planned, and can scan a whole table)."""
    gate = _PG_GATE if checked else ""
    return "".join(
        [
            _PG_INPUT,
            _PG_CHECKED if checked else "",
            _PG_INSERTED.format(columns=_INBOX_COLUMNS, gate=gate),
            _PG_RELEASED.format(gate=gate) if releases else _PG_ONLY_INSERTED,
            _PG_EFFECTS,
            _PG_GAPS_CLOSE if late else "",
            _PG_CURSORS if cursors and not checked else "",
            _PG_ANSWER,
            _PG_ANSWER_MOVED if checked else "",
        ]
    )


def pg_params(writes: Sequence[IntakeWrite], gated: Collection[object] = ()) -> dict[str, Any]:
    """The JSON ``writes`` are sent as: the events (``gate`` where their aggregate is in ``gated``), their
    deliveries, and the inbox ids of the waiting rows they release."""
    events = []
    deliveries = []
    for index, (plan, released_id) in enumerate(writes):
        envelope = plan.envelope
        events.append(
            {
                **_inbox_values(plan),
                "ord": index,
                "released_id": released_id,
                "gate": plan.aggregate in gated,
                **plan.notice_fields(),
            }
        )
        deliveries += [
            {"event_id": envelope.event_id, "channel": d.channel, "target": d.target, "subject": d.subject,
             "body": d.body, "ord": index}
            for d in plan.deliveries
        ]  # fmt: skip
    return {
        "events": msgspec.json.encode(events).decode(),
        "deliveries": msgspec.json.encode(deliveries).decode(),
        "released": [released_id for _, released_id in writes if released_id is not None],
    }


def _pg_execute(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove], *, checked: bool) -> list[tuple]:
    """Run the single statement for ``writes`` and ``cursors``; its answer rows."""
    params = pg_params(writes, {(move["t"], move["i"]) for move in cursors} if checked else ())
    sql = _pg_take_sql(
        releases=bool(params["released"]),
        cursors=bool(cursors),
        checked=checked,
        late=any(plan.late and released_id is None for plan, released_id in writes),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "cursors": msgspec.json.encode(list(cursors)).decode()})
        return cursor.fetchall()


def pg_writes(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` (and set ``cursors``, whose rows the caller has locked) in one statement; the event ids
    written with their delivery ids."""
    return {event_id: tuple(ids) for event_id, ids, _, _ in _pg_execute(writes, cursors, checked=False)}


def pg_writes_checked(
    writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove]
) -> tuple[dict[object, tuple[int, ...]], set[tuple[str, str]]]:
    """Write ``writes`` and move ``cursors`` in one statement (autocommit), each cursor only if it is still
    what its move says was seen, and only the writes of the aggregates whose cursor moved (or that move
    none); the event ids written with their delivery ids, and the aggregates whose cursors moved."""
    taken: dict[object, tuple[int, ...]] = {}
    moved: set[tuple[str, str]] = set()
    for event_id, ids, kind, key in _pg_execute(writes, cursors, checked=True):
        if event_id is None:
            moved.add((kind, key))
        else:
            taken[event_id] = tuple(ids)
    return taken, moved


def _inbox_insert(plan: IntakePlan) -> int | None:
    """Insert the inbox row; None when the event id is already there (a redelivery).

    ON CONFLICT DO NOTHING makes a concurrent second delivery wait for the first transaction
    and then find the row, rather than fail.
    """
    values = [
        InboxEvent._meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in _inbox_values(plan).items()
    ]
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {InboxEvent._meta.db_table} ({_INBOX_COLUMNS}, received_at) "
            f"VALUES ({placeholders}, CURRENT_TIMESTAMP) ON CONFLICT (event_id) DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def orm_writes(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` (and set ``cursors``, whose rows the caller has locked) through the ORM in one
    transaction, in order, closing the gaps late arrivals fill; the event ids written with their delivery ids."""
    taken: dict[object, tuple[int, ...]] = {}
    with transaction.atomic():
        for plan, released_id in writes:
            inbox_id = released_id if released_id is not None else _inbox_insert(plan)
            if inbox_id is None:
                continue
            if released_id is not None:
                InboxEvent.objects.filter(pk=released_id).update(status=plan.status, effects=None)
            elif plan.late:
                gaps_close([(plan.aggregate, plan.envelope.sequence, plan.envelope.event_id)])
            taken[plan.envelope.event_id] = intake_effects_write(inbox_id, plan)
        for cursor in cursors:
            AggregateCursor.objects.filter(aggregate_type=cursor["t"], aggregate_id=cursor["i"]).update(
                applied=cursor["applied"], waiting=cursor["waiting"], updated_at=timezone.now()
            )
    return taken


def take_writes(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` and ``cursors`` in the caller's transaction, by the fastest path the database has."""
    return pg_writes(writes, cursors) if connection.vendor == "postgresql" else orm_writes(writes, cursors)


def intake_effects_write(inbox_id: int, plan: IntakePlan) -> tuple[int, ...]:
    """Write the notification and delivery rows of ``plan`` for inbox row ``inbox_id``; the delivery ids."""
    if plan.notice is None:
        return ()
    Notification.objects.create(
        event_id=inbox_id,
        event_type=plan.envelope.event_type,
        project_id=plan.notice.project_id,
        recipient=plan.notice.recipient,
        channel=Channel.IN_APP.value,
        subject=plan.notice.subject,
        body=plan.notice.body,
    )
    for delivery in plan.deliveries:
        delivery.event_id = inbox_id
        delivery.save()
    return tuple(d.pk for d in plan.deliveries)
