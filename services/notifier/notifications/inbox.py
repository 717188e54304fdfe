"""Taking an event in, exactly once: the inbox row and everything the event creates, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction

from codegen_contracts import Envelope
from notifications.handlers import HANDLERS
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


def inbox_take(envelope: Envelope) -> Intake:
    """Record ``envelope`` in the inbox with its notification and delivery rows, once per event id."""
    handler = HANDLERS.get(envelope.event_type)
    with transaction.atomic():
        status = InboxStatus.PROCESSED if handler else InboxStatus.IGNORED
        inbox_id = _inbox_insert(envelope, status.value)
        if inbox_id is None:
            # A redelivery: add nothing, but finish what a crashed first delivery left pending.
            pending = Delivery.objects.filter(
                event__event_id=envelope.event_id, status=DeliveryStatus.PENDING.value
            ).values_list("pk", flat=True)
            return Intake(duplicate=True, delivery_ids=tuple(pending))
        if handler is None:
            logger.info(
                "event %s of type %s has no handler: recorded as ignored", envelope.event_id, envelope.event_type
            )
            return Intake(duplicate=False, ignored=True)
        notice = handler(envelope)
        body = webhook_body(
            event_type=envelope.event_type,
            occurred_at=envelope.occurred_at.isoformat(),
            data={**envelope.payload, "event_id": str(envelope.event_id)},
        ).decode()
        Notification.objects.create(
            event_id=inbox_id,
            event_type=envelope.event_type,
            project_id=notice.project_id,
            recipient=notice.recipient,
            channel=Channel.IN_APP.value,
            subject=notice.subject,
            body=notice.body,
        )
        deliveries = [
            Delivery(
                event_id=inbox_id, channel=Channel.EMAIL.value, target=email, subject=notice.subject, body=notice.body
            )
            for email in notice.emails
        ] + [
            Delivery(event_id=inbox_id, channel=Channel.WEBHOOK.value, target=url, subject=notice.subject, body=body)
            for url in notice.webhooks
        ]
        for delivery in deliveries:
            delivery.save()
    return Intake(duplicate=False, delivery_ids=tuple(d.pk for d in deliveries))
