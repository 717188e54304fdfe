"""Taking events in, exactly once: each inbox row and everything its event creates, in one transaction."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import msgspec
from django.db import connection, transaction
from django.utils import timezone

from codegen_contracts import Envelope, EventReading, ReadingOutcome, envelope_read, envelope_to_builtins, event_spec
from notifications.handlers import HANDLERS, Notice
from notifications.models import (
    AggregateCursor,
    Channel,
    Delivery,
    DeliveryStatus,
    InboxEvent,
    InboxStatus,
    Notification,
)
from notifications.webhooks import webhook_body

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intake:
    """What taking an event in did: ``duplicate`` when it had been received before, ``status`` its inbox status."""

    duplicate: bool
    status: str = InboxStatus.PROCESSED.value
    delivery_ids: tuple[int, ...] = ()

    @property
    def ignored(self) -> bool:
        return self.status == InboxStatus.IGNORED


@dataclass(frozen=True)
class IntakePlan:
    """What taking one reading in writes: its inbox status, the notice and the delivery rows."""

    reading: EventReading
    status: str
    notice: Notice | None
    deliveries: list[Delivery]
    late: bool = False

    @property
    def envelope(self) -> Envelope:
        return self.reading.envelope

    @property
    def aggregate(self) -> tuple[str, str]:
        return self.reading.envelope.aggregate_type, self.reading.envelope.aggregate_id

    def waiting(self) -> IntakePlan:
        """This plan held back until the earlier sequences of its aggregate arrive: the inbox row only."""
        return IntakePlan(self.reading, InboxStatus.WAITING.value, None, [])


#: The inbox status of a reading that is not taken in now.
_HELD = {ReadingOutcome.PARKED: InboxStatus.PARKED.value, ReadingOutcome.UNKNOWN_TYPE: InboxStatus.UNKNOWN.value}


def reading_of(envelope: Envelope) -> EventReading:
    """The reading of an envelope this notifier's own contracts built (tests, tools): current, raw as sent."""
    return EventReading(
        ReadingOutcome.CURRENT, envelope, envelope.schema_version, envelope_to_builtins(envelope), payload=None
    )


#: What marks the notice of an event taken in after a later one of its aggregate.
LATE_MARK = "[late] "


def intake_plan(reading: EventReading, *, late: bool = False) -> IntakePlan:
    """What taking ``reading`` in writes: held as it is, ignored without a handler, or its notice and deliveries.

    A ``late`` event's notice says so: its subject starts with LATE_MARK and its webhook data has
    ``"late": true`` (every webhook's data carries the event's ``sequence``, for receivers to order by).
    """
    envelope = reading.envelope
    if reading.outcome in _HELD:
        return IntakePlan(reading, _HELD[reading.outcome], None, [], late=late)
    handler = HANDLERS.get(envelope.event_type)
    if handler is None:
        return IntakePlan(reading, InboxStatus.IGNORED.value, None, [], late=late)
    payload = reading.payload
    if payload is None:
        payload = msgspec.convert(envelope.payload, event_spec(envelope.event_type).payload_type)
    notice = handler(envelope, payload)
    if late:
        notice = replace(notice, subject=LATE_MARK + notice.subject)
    deliveries = [
        Delivery(channel=Channel.EMAIL.value, target=email, subject=notice.subject, body=notice.body)
        for email in notice.emails
    ]
    if notice.webhooks:
        body = webhook_body(
            event_type=envelope.event_type,
            occurred_at=envelope.occurred_at.isoformat(),
            data={
                **envelope.payload,
                "event_id": str(envelope.event_id),
                "sequence": envelope.sequence,
                **({"late": True} if late else {}),
            },
        ).decode()
        deliveries += [
            Delivery(channel=Channel.WEBHOOK.value, target=url, subject=notice.subject, body=body)
            for url in notice.webhooks
        ]
    return IntakePlan(reading, InboxStatus.PROCESSED.value, notice, deliveries, late=late)


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
_INBOX_READING_COLUMNS = ("schema_version", "status", "reason", "raw", "late")
_INBOX_COLUMNS = ", ".join((*INBOX_ENVELOPE_FIELDS, *_INBOX_READING_COLUMNS))
#: What the single statement is sent per event besides the envelope's fields.
_PG_EVENT_EXTRA = {
    "schema_version": "integer",
    "status": "text",
    "reason": "text",
    "raw": "jsonb",
    "late": "boolean",
    "ord": "integer",
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
    }


#: One row to write: a plan, and the inbox id of the waiting row it releases (None for a new arrival).
IntakeWrite = tuple[IntakePlan, int | None]
#: An aggregate's cursor to set: ``{"t": type, "i": id, "applied": n, "waiting": n}``.
CursorMove = dict[str, object]

#: Every event of a batch in one statement: data-modifying CTEs insert the new arrivals' inbox rows
#: (skipping event ids already there), give released waiting rows their status, write the
#: notifications and deliveries of both in the order given (``ord``: each aggregate's in sequence
#: order), and move the aggregates' cursors. The events, deliveries and cursors arrive as JSON arrays
#: (much cheaper to send than a dozen typed arrays); the statement answers with each event id that
#: took effect (or was recorded) and its delivery ids.
_PG_INPUT = f"""
WITH input AS (
    SELECT * FROM json_to_recordset(%(events)s::json)
        AS t({", ".join(f"{name} {kind}" for name, kind in {**INBOX_ENVELOPE_FIELDS, **_PG_EVENT_EXTRA}.items())})
), inserted AS (
    INSERT INTO notifier_inbox ({_INBOX_COLUMNS}, received_at)
    SELECT {_INBOX_COLUMNS}, now() FROM input WHERE released_id IS NULL
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id
)"""
_PG_RELEASED = """, released AS (
    UPDATE notifier_inbox AS w SET status = input.status
    FROM input WHERE w.id = input.released_id
    RETURNING w.id, w.event_id
), inbox AS (
    SELECT id, event_id FROM inserted UNION ALL SELECT id, event_id FROM released
)"""
_PG_INSERTED = """, inbox AS (SELECT id, event_id FROM inserted)"""
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
_PG_CURSORS = """, cursors AS (
    UPDATE notifier_aggregate AS c SET applied = v.applied, waiting = v.waiting, updated_at = now()
    FROM json_to_recordset(%(cursors)s::json) AS v(t text, i text, applied integer, waiting integer)
    WHERE c.aggregate_type = v.t AND c.aggregate_id = v.i
)"""
_PG_ANSWER = """
SELECT inbox.event_id, array(SELECT d.id FROM deliveries d WHERE d.event_id = inbox.id ORDER BY d.id) FROM inbox
"""


@functools.cache
def _pg_take_sql(*, releases: bool, cursors: bool) -> str:
    """The single statement, with the parts for released rows and cursor moves only when there are some
    (an empty join would still be planned, and can scan a whole table)."""
    return (
        _PG_INPUT
        + (_PG_RELEASED if releases else _PG_INSERTED)
        + _PG_EFFECTS
        + (_PG_CURSORS if cursors else "")
        + _PG_ANSWER
    )


def _pg_take(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` (and set ``cursors``: ``{t, i, applied, waiting}``) in one statement; the event ids
    written with their delivery ids."""
    events = []
    deliveries = []
    for index, (plan, released_id) in enumerate(writes):
        envelope, notice = plan.envelope, plan.notice
        events.append(
            {
                **_inbox_values(plan),
                "ord": index,
                "released_id": released_id,
                "notify": notice is not None,
                "project_id": notice.project_id if notice else 0,
                "recipient": notice.recipient if notice else "",
                "subject": notice.subject if notice else "",
                "body": notice.body if notice else "",
            }
        )
        deliveries += [
            {"event_id": envelope.event_id, "channel": d.channel, "target": d.target, "subject": d.subject,
             "body": d.body, "ord": index}
            for d in plan.deliveries
        ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            _pg_take_sql(releases=any(released_id is not None for _, released_id in writes), cursors=bool(cursors)),
            {
                "events": msgspec.json.encode(events).decode(),
                "deliveries": msgspec.json.encode(deliveries).decode(),
                "cursors": msgspec.json.encode(list(cursors)).decode(),
            },
        )
        return {event_id: tuple(ids) for event_id, ids in cursor.fetchall()}


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


def _orm_take(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` (and set ``cursors``) through the ORM in one transaction, in order; the event ids
    written with their delivery ids."""
    taken: dict[object, tuple[int, ...]] = {}
    with transaction.atomic():
        for plan, released_id in writes:
            inbox_id = released_id if released_id is not None else _inbox_insert(plan)
            if inbox_id is None:
                continue
            if released_id is not None:
                InboxEvent.objects.filter(pk=released_id).update(status=plan.status)
            taken[plan.envelope.event_id] = intake_effects_write(inbox_id, plan)
        for cursor in cursors:
            AggregateCursor.objects.filter(aggregate_type=cursor["t"], aggregate_id=cursor["i"]).update(
                applied=cursor["applied"], waiting=cursor["waiting"], updated_at=timezone.now()
            )
    return taken


def take_writes(writes: Sequence[IntakeWrite], cursors: Sequence[CursorMove] = ()) -> dict[object, tuple[int, ...]]:
    """Write ``writes`` and ``cursors`` in the caller's transaction, by the fastest path the database has."""
    return _pg_take(writes, cursors) if connection.vendor == "postgresql" else _orm_take(writes, cursors)


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


def _pending_deliveries(event_ids: list[object]) -> dict[object, tuple[int, ...]]:
    """Deliveries still pending of events taken in before: a redelivery hands them back to be tried."""
    pending: dict[object, list[int]] = {}
    rows = Delivery.objects.filter(event__event_id__in=event_ids, status=DeliveryStatus.PENDING.value)
    for event_id, pk in rows.order_by("pk").values_list("event__event_id", "pk"):
        pending.setdefault(event_id, []).append(pk)
    return {event_id: tuple(ids) for event_id, ids in pending.items()}


def inbox_take_many(
    readings: Sequence[EventReading | Envelope], *, single_statement: bool | None = None
) -> list[Intake]:
    """Record ``readings`` in the inbox with their notification and delivery rows, once per event id.

    A held reading (parked, unknown type) is recorded with its reason and raw message and nothing
    else. With NOTIFIER_ORDERING (the default) each aggregate's events take effect in sequence
    order: one that arrives ahead of a missing sequence is recorded as waiting, and takes effect
    when the missing one arrives (in the same transaction, released deliveries handed back with
    the arrival that released them) or when its wait is over (``notifications.sweep``); one whose
    sequence the aggregate has passed takes effect marked late, closing the gap it fills.

    All of it is one transaction: on PostgreSQL a statement to lock the aggregates and one
    (data-modifying CTEs) to write, elsewhere or with ``single_statement=False`` through the ORM.
    Returns one Intake per reading, in order; an event received before, or earlier in the same
    call, is a duplicate and adds nothing, but a redelivery gets back the deliveries a crashed
    first try left pending. An Envelope stands for its own current reading (``reading_of``).
    """
    from django.conf import settings

    if single_statement is None:
        single_statement = connection.vendor == "postgresql"
    firsts: dict[object, IntakePlan] = {}
    plans = []
    for item in readings:
        reading = reading_of(item) if isinstance(item, Envelope) else item
        plan = firsts.get(reading.envelope.event_id)
        if plan is None:
            plan = firsts[reading.envelope.event_id] = intake_plan(reading)
        plans.append(plan)
    # In (aggregate, sequence) order: effects are written in that order, and two batches sharing events
    # meet on their aggregates' cursors (or, without ordering, their inbox keys) in the same order.
    ordered = sorted(firsts.values(), key=lambda p: (p.aggregate, p.envelope.sequence, str(p.envelope.event_id)))
    if settings.NOTIFIER["ORDERING"]:
        with transaction.atomic():
            taken, written = _ordered_take(ordered, single_statement=single_statement)
    else:
        writes = [(plan, None) for plan in ordered]
        taken = _pg_take(writes) if single_statement else _orm_take(writes)
        written = {plan.envelope.event_id: plan for plan in ordered}
    redelivered = [p.envelope.event_id for p in ordered if p.envelope.event_id not in taken and p.deliveries]
    pending = _pending_deliveries(redelivered) if redelivered else {}
    intakes = []
    answered: set[object] = set()
    for plan in plans:
        event_id = plan.envelope.event_id
        if event_id in taken and event_id not in answered:
            answered.add(event_id)
            status = written[event_id].status
            if status == InboxStatus.IGNORED:
                logger.info(
                    "event %s of type %s has no handler: recorded as ignored", event_id, plan.envelope.event_type
                )
            elif status in (InboxStatus.PARKED, InboxStatus.UNKNOWN):
                logger.warning("event %s recorded as %s: %s", event_id, status, plan.reading.reason)
            intakes.append(Intake(duplicate=False, status=status, delivery_ids=taken[event_id]))
        else:
            intakes.append(Intake(duplicate=True, delivery_ids=pending.get(event_id, ())))
    return intakes


def _ordered_take(
    plans: Sequence[IntakePlan], *, single_statement: bool
) -> tuple[dict[object, tuple[int, ...]], dict[object, IntakePlan]]:
    """Take ``plans`` (in aggregate and sequence order) in, each aggregate's in sequence order; see inbox_take_many.

    Returns the new event ids with their delivery ids (an arrival that released waiting events
    carries their deliveries too) and the plan each was written with.
    """
    from itertools import groupby

    from notifications.ordering import APPLY, LATE, WAIT, Arrival, order_decide, order_in_run
    from notifications.sequencing import aggregates_lock, gaps_close

    positions = aggregates_lock((plan.aggregate, plan.envelope.sequence) for plan in plans)
    writes: list[IntakeWrite] = []
    cursors: list[CursorMove] = []
    late: list[tuple[tuple[str, str], int, object]] = []
    releaser: dict[object, object] = {}  # released event id → the arrival whose intake hands back its deliveries
    for aggregate, group in groupby(plans, key=lambda plan: plan.aggregate):
        members = list(group)
        position = positions[aggregate]
        if position.moved is not None:
            # decided by the lock statement: the run up to the cursor takes effect, the rest waits
            writes += [
                (plan if plan.envelope.sequence <= position.applied else plan.waiting(), None) for plan in members
            ]
            continue
        if order_in_run(position.applied, [plan.envelope.sequence for plan in members]) and not position.rows:
            # the common case, decided without the general rules: the next sequences, nothing waiting
            writes += [(plan, None) for plan in members]
            cursors.append({"t": aggregate[0], "i": aggregate[1], "applied": position.applied + len(members),
                            "waiting": 0})  # fmt: skip
            continue
        by_key = {plan.envelope.event_id: plan for plan in members}
        stored = {row.event_id: row for row in position.rows.values()}
        decision = order_decide(
            position.applied,
            {seq: row.event_id for seq, row in position.rows.items()},
            [Arrival(key, plan.envelope.sequence) for key, plan in by_key.items()],
        )
        waits = [key for key, fate in decision.fates.items() if fate == WAIT and key not in stored]
        writes += [(by_key[key].waiting(), None) for key in waits]
        first_applied = next((key for key in decision.run if decision.fates.get(key) == APPLY), None)
        for key in decision.run:
            if key in stored:
                row = stored[key]
                writes.append((intake_plan(envelope_read(row.raw)), row.id))
                releaser[key] = first_applied
            elif decision.fates[key] == LATE:
                writes.append((intake_plan(by_key[key].reading, late=True), None))
                late.append((aggregate, by_key[key].envelope.sequence, key))
            else:
                writes.append((by_key[key], None))
        waiting = len(position.rows) - len(decision.released) + len(waits)
        if (decision.applied, waiting) != (position.applied, len(position.rows)):
            cursors.append({"t": aggregate[0], "i": aggregate[1], "applied": decision.applied, "waiting": waiting})
    taken = _pg_take(writes, cursors) if single_statement else _orm_take(writes, cursors)
    for key, arrival in releaser.items():
        released_ids = taken.pop(key, ())
        if arrival in taken:
            taken[arrival] += released_ids
    if late:
        gaps_close(item for item in late if item[2] in taken)
    return taken, {plan.envelope.event_id: plan for plan, _ in writes}


def inbox_take(reading: EventReading | Envelope, *, single_statement: bool | None = None) -> Intake:
    """Record one reading in the inbox (see inbox_take_many)."""
    return inbox_take_many([reading], single_statement=single_statement)[0]
