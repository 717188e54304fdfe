"""What taking one event in means: its plan (inbox status, notice, deliveries) and what intake reports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec

from codegen_contracts import Envelope, EventReading, ReadingOutcome, envelope_to_builtins, event_spec
from notifications.delivery.channels import CHANNELS
from notifications.intake.handlers import HANDLERS, Notice
from notifications.models import Delivery, InboxStatus


@dataclass(frozen=True)
class Intake:
    """What taking an event in did: ``duplicate`` when it had been received before, ``status`` its inbox status."""

    duplicate: bool
    status: str = InboxStatus.PROCESSED.value
    delivery_ids: tuple[int, ...] = ()
    #: When the waiting events this one released occurred (their effects committed with its own).
    released_occurred_at: tuple[datetime, ...] = ()

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

    def notice_fields(self) -> dict[str, Any]:
        """The in-app notice as the intake's statements write it: ``notify`` whether there is one, and its fields."""
        notice = self.notice
        return {
            "notify": notice is not None,
            "project_id": notice.project_id if notice else 0,
            "recipient": notice.recipient if notice else "",
            "subject": notice.subject if notice else "",
            "body": notice.body if notice else "",
        }

    def effects(self) -> dict[str, Any]:
        """What taking this plan in writes besides the inbox row, as JSON: the inbox status, the in-app
        notice (``notice_fields``) and the deliveries, in order."""
        return {
            "status": self.status,
            **self.notice_fields(),
            "deliveries": [
                {"channel": d.channel, "target": d.target, "subject": d.subject, "body": d.body, "ord": n}
                for n, d in enumerate(self.deliveries)
            ],
        }


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
    """What taking ``reading`` in writes: parked or unknown as it is, ignored without a handler, or its notice and
    deliveries.

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
        Delivery(channel=name, target=target, subject=notice.subject, body=channel.body(notice, envelope, late))
        for name, channel in CHANNELS.items()
        for target in notice.targets.get(name, [])
    ]
    return IntakePlan(reading, InboxStatus.PROCESSED.value, notice, deliveries, late=late)
