"""Taking an event in, exactly once: the inbox row and everything the event creates, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction

from codegen_contracts import Envelope
from notifications.handlers import HANDLERS, Notice
from notifications.models import Channel, Delivery, DeliveryStatus, InboxEvent, InboxStatus, Notification
from notifications.webhooks import webhook_body

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intake:
    """What taking an event in did: ``duplicate`` when it had been taken in before."""

    duplicate: bool
    ignored: bool = False
    delivery_ids: tuple[int, ...] = ()


def _inbox_insert(envelope: Envelope, status: str) -> int | None:
    """Insert the inbox row; None when the event id is already there (a redelivery).

    ON CONFLICT DO NOTHING makes a concurrent second delivery wait for the first transaction
    and then find the row, rather than fail.
    """
    table = InboxEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, event_type, aggregate_type, aggregate_id, sequence, occurred_at, "
            "received_at, status) VALUES (%s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP, %s) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            [
                InboxEvent._meta.get_field("event_id").get_db_prep_value(envelope.event_id, connection),
                envelope.event_type,
                envelope.aggregate_type,
                envelope.aggregate_id,
                envelope.sequence,
                InboxEvent._meta.get_field("occurred_at").get_db_prep_value(envelope.occurred_at, connection),
                status,
            ],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


_PG_TAKE = """
WITH inbox AS (
    INSERT INTO notifier_inbox (event_id, event_type, aggregate_type, aggregate_id, sequence, occurred_at,
                                received_at, status)
    VALUES (%(event_id)s, %(event_type)s, %(aggregate_type)s, %(aggregate_id)s, %(sequence)s, %(occurred_at)s,
            now(), %(status)s)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id
), notification AS (
    INSERT INTO notifier_notification (event_id, event_type, project_id, recipient, channel, subject, body,
                                       created_at)
    SELECT id, %(event_type)s, %(project_id)s, %(recipient)s, 'in_app', %(subject)s, %(body)s, now()
    FROM inbox WHERE %(notify)s
    RETURNING id
), deliveries AS (
    INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                   created_at, updated_at)
    SELECT inbox.id, d.channel, d.target, d.subject, d.body, 'pending', 0, '', now(), now()
    FROM inbox, unnest(%(channels)s::text[], %(targets)s::text[], %(subjects)s::text[], %(bodies)s::text[])
        AS d(channel, target, subject, body)
    RETURNING id
)
SELECT (SELECT id FROM inbox), array(SELECT id FROM deliveries)
"""


def _plan(envelope: Envelope) -> tuple[str, Notice | None, list[Delivery]]:
    """What taking ``envelope`` in writes: its inbox status, the notice and the delivery rows."""
    handler = HANDLERS.get(envelope.event_type)
    if handler is None:
        return InboxStatus.IGNORED.value, None, []
    notice = handler(envelope)
    body = webhook_body(
        event_type=envelope.event_type,
        occurred_at=envelope.occurred_at.isoformat(),
        data={**envelope.payload, "event_id": str(envelope.event_id)},
    ).decode()
    deliveries = [
        Delivery(channel=Channel.EMAIL.value, target=email, subject=notice.subject, body=notice.body)
        for email in notice.emails
    ] + [
        Delivery(channel=Channel.WEBHOOK.value, target=url, subject=notice.subject, body=body)
        for url in notice.webhooks
    ]
    return InboxStatus.PROCESSED.value, notice, deliveries


def _pending_deliveries(envelope: Envelope) -> tuple[int, ...]:
    pending = Delivery.objects.filter(event__event_id=envelope.event_id, status=DeliveryStatus.PENDING.value)
    return tuple(pending.values_list("pk", flat=True))


def inbox_take(envelope: Envelope, *, single_statement: bool | None = None) -> Intake:
    """Record ``envelope`` in the inbox with its notification and delivery rows, once per event id.

    On PostgreSQL all of it is one statement (data-modifying CTEs: atomic, one round trip); elsewhere,
    or with ``single_statement=False``, the same rows are written in one transaction through the ORM.
    A redelivered event adds nothing, but returns the deliveries a crashed first try left pending.
    """
    status, notice, deliveries = _plan(envelope)
    if single_statement is None:
        single_statement = connection.vendor == "postgresql"
    if single_statement:
        with connection.cursor() as cursor:
            cursor.execute(
                _PG_TAKE,
                {
                    "event_id": envelope.event_id,
                    "event_type": envelope.event_type,
                    "aggregate_type": envelope.aggregate_type,
                    "aggregate_id": envelope.aggregate_id,
                    "sequence": envelope.sequence,
                    "occurred_at": envelope.occurred_at,
                    "status": status,
                    "notify": notice is not None,
                    "project_id": notice.project_id if notice else 0,
                    "recipient": notice.recipient if notice else "",
                    "subject": notice.subject if notice else "",
                    "body": notice.body if notice else "",
                    "channels": [d.channel for d in deliveries],
                    "targets": [d.target for d in deliveries],
                    "subjects": [d.subject for d in deliveries],
                    "bodies": [d.body for d in deliveries],
                },
            )
            inbox_id, delivery_ids = cursor.fetchone()
        if inbox_id is None:
            pending = _pending_deliveries(envelope) if deliveries else ()
            return Intake(duplicate=True, delivery_ids=pending)
        return Intake(duplicate=False, ignored=notice is None, delivery_ids=tuple(delivery_ids))
    with transaction.atomic():
        inbox_id = _inbox_insert(envelope, status)
        if inbox_id is None:
            return Intake(duplicate=True, delivery_ids=_pending_deliveries(envelope))
        if notice is None:
            logger.info(
                "event %s of type %s has no handler: recorded as ignored", envelope.event_id, envelope.event_type
            )
            return Intake(duplicate=False, ignored=True)
        Notification.objects.create(
            event_id=inbox_id,
            event_type=envelope.event_type,
            project_id=notice.project_id,
            recipient=notice.recipient,
            channel=Channel.IN_APP.value,
            subject=notice.subject,
            body=notice.body,
        )
        for delivery in deliveries:
            delivery.event_id = inbox_id
            delivery.save()
    return Intake(duplicate=False, delivery_ids=tuple(d.pk for d in deliveries))
