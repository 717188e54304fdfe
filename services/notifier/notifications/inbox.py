"""Taking events in, exactly once: each inbox row and everything its event creates, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from django.db import connection, transaction

from codegen_contracts import Envelope, EventReading, ReadingOutcome, envelope_to_builtins, event_spec
from notifications.handlers import HANDLERS, Notice
from notifications.models import Channel, Delivery, DeliveryStatus, InboxEvent, InboxStatus, Notification
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

    @property
    def envelope(self) -> Envelope:
        return self.reading.envelope


#: The inbox status of a reading that is not taken in now.
_HELD = {ReadingOutcome.PARKED: InboxStatus.PARKED.value, ReadingOutcome.UNKNOWN_TYPE: InboxStatus.UNKNOWN.value}


def reading_of(envelope: Envelope) -> EventReading:
    """The reading of an envelope this notifier's own contracts built (tests, tools): current, raw as sent."""
    return EventReading(
        ReadingOutcome.CURRENT, envelope, envelope.schema_version, envelope_to_builtins(envelope), payload=None
    )


def intake_plan(reading: EventReading) -> IntakePlan:
    """What taking ``reading`` in writes: held as it is, ignored without a handler, or its notice and deliveries."""
    envelope = reading.envelope
    if reading.outcome in _HELD:
        return IntakePlan(reading, _HELD[reading.outcome], None, [])
    handler = HANDLERS.get(envelope.event_type)
    if handler is None:
        return IntakePlan(reading, InboxStatus.IGNORED.value, None, [])
    payload = reading.payload
    if payload is None:
        payload = msgspec.convert(envelope.payload, event_spec(envelope.event_type).payload_type)
    notice = handler(envelope, payload)
    deliveries = [
        Delivery(channel=Channel.EMAIL.value, target=email, subject=notice.subject, body=notice.body)
        for email in notice.emails
    ]
    if notice.webhooks:
        body = webhook_body(
            event_type=envelope.event_type,
            occurred_at=envelope.occurred_at.isoformat(),
            data={**envelope.payload, "event_id": str(envelope.event_id)},
        ).decode()
        deliveries += [
            Delivery(channel=Channel.WEBHOOK.value, target=url, subject=notice.subject, body=body)
            for url in notice.webhooks
        ]
    return IntakePlan(reading, InboxStatus.PROCESSED.value, notice, deliveries)


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
_INBOX_READING_COLUMNS = ("schema_version", "status", "reason", "raw")
_INBOX_COLUMNS = ", ".join((*INBOX_ENVELOPE_FIELDS, *_INBOX_READING_COLUMNS))
#: What the single statement is sent per event besides the envelope's fields.
_PG_EVENT_EXTRA = {
    "schema_version": "integer",
    "status": "text",
    "reason": "text",
    "raw": "jsonb",
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
    }


#: Every event of a batch in one statement: data-modifying CTEs insert the inbox rows (skipping event
#: ids already there), then the notifications and deliveries of the rows that were new. The events
#: and deliveries arrive as two JSON arrays (much cheaper to send than a dozen typed arrays); the
#: statement answers with each new event id and its delivery ids.
_PG_TAKE = f"""
WITH input AS (
    SELECT * FROM json_to_recordset(%(events)s::json)
        AS t({", ".join(f"{name} {kind}" for name, kind in {**INBOX_ENVELOPE_FIELDS, **_PG_EVENT_EXTRA}.items())})
), inbox AS (
    INSERT INTO notifier_inbox ({_INBOX_COLUMNS}, received_at)
    SELECT {_INBOX_COLUMNS}, now() FROM input
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id
), notification AS (
    INSERT INTO notifier_notification (event_id, event_type, project_id, recipient, channel, subject, body,
                                       created_at)
    SELECT inbox.id, input.event_type, input.project_id, input.recipient, 'in_app', input.subject, input.body, now()
    FROM inbox JOIN input USING (event_id) WHERE input.notify
), deliveries AS (
    INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                   created_at, updated_at)
    SELECT inbox.id, d.channel, d.target, d.subject, d.body, 'pending', 0, '', now(), now()
    FROM inbox JOIN json_to_recordset(%(deliveries)s::json)
        AS d(event_id uuid, channel text, target text, subject text, body text) USING (event_id)
    RETURNING id, event_id
)
SELECT inbox.event_id, array(SELECT d.id FROM deliveries d WHERE d.event_id = inbox.id ORDER BY d.id) FROM inbox
"""


def _pg_take(plans: Sequence[IntakePlan]) -> dict[object, tuple[int, ...]]:
    """Write ``plans`` in one statement; the new event ids with their delivery ids."""
    events = []
    deliveries = []
    for plan in plans:
        envelope, notice = plan.envelope, plan.notice
        events.append(
            {
                **_inbox_values(plan),
                "notify": notice is not None,
                "project_id": notice.project_id if notice else 0,
                "recipient": notice.recipient if notice else "",
                "subject": notice.subject if notice else "",
                "body": notice.body if notice else "",
            }
        )
        deliveries += [
            {"event_id": envelope.event_id, "channel": d.channel, "target": d.target, "subject": d.subject,
             "body": d.body}
            for d in plan.deliveries
        ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            _PG_TAKE,
            {"events": msgspec.json.encode(events).decode(), "deliveries": msgspec.json.encode(deliveries).decode()},
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


def _orm_take(plans: Sequence[IntakePlan]) -> dict[object, tuple[int, ...]]:
    """Write ``plans`` through the ORM in one transaction; the new event ids with their delivery ids."""
    taken: dict[object, tuple[int, ...]] = {}
    with transaction.atomic():
        for plan in plans:
            inbox_id = _inbox_insert(plan)
            if inbox_id is None:
                continue
            taken[plan.envelope.event_id] = intake_effects_write(inbox_id, plan)
    return taken


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
    else. All of it is one transaction: on PostgreSQL one statement (data-modifying CTEs), elsewhere
    or with ``single_statement=False`` through the ORM. Returns one Intake per reading, in order; an
    event received before, or earlier in the same call, is a duplicate and adds nothing, but a
    redelivery gets back the deliveries a crashed first try left pending. An Envelope stands for
    its own current reading (``reading_of``).
    """
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
    # Sorted by event id, so that two batches sharing events lock their inbox keys in the same order.
    ordered = sorted(firsts.values(), key=lambda p: str(p.envelope.event_id))
    taken = _pg_take(ordered) if single_statement else _orm_take(ordered)
    redelivered = [p.envelope.event_id for p in ordered if p.envelope.event_id not in taken and p.deliveries]
    pending = _pending_deliveries(redelivered) if redelivered else {}
    intakes = []
    answered: set[object] = set()
    for plan in plans:
        event_id = plan.envelope.event_id
        if event_id in taken and event_id not in answered:
            answered.add(event_id)
            if plan.status == InboxStatus.IGNORED:
                logger.info(
                    "event %s of type %s has no handler: recorded as ignored", event_id, plan.envelope.event_type
                )
            elif plan.status != InboxStatus.PROCESSED:
                logger.warning("event %s recorded as %s: %s", event_id, plan.status, plan.reading.reason)
            intakes.append(Intake(duplicate=False, status=plan.status, delivery_ids=taken[event_id]))
        else:
            intakes.append(Intake(duplicate=True, delivery_ids=pending.get(event_id, ())))
    return intakes


def inbox_take(reading: EventReading | Envelope, *, single_statement: bool | None = None) -> Intake:
    """Record one reading in the inbox (see inbox_take_many)."""
    return inbox_take_many([reading], single_statement=single_statement)[0]
