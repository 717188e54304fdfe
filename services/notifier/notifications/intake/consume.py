"""Consuming one event message: validate, take into the inbox (its deliveries are sent apart, by the delivery
workers). The actor calls only this."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, transaction
from django.db.models import F
from opentelemetry.trace import SpanKind

from codegen_contracts import EVENTS_QUEUE, ContractError, EventReading, envelope_read
from codegen_telemetry import log_context, span
from notifications.config import notifier_config
from notifications.errors import PoisonEnvelope
from notifications.intake.event_plan import Intake
from notifications.intake.inbox import inbox_take
from notifications.models import InboxStatus, PoisonMessage
from notifications.reconnect import on_fresh_connection
from notifications.worker_metrics import event_counted, lag_observed

logger = logging.getLogger(__name__)


def retries_left(retries: int) -> bool:
    """Whether a message that failed ``retries`` times before may be tried again (MESSAGE_MAX_RETRIES)."""

    return retries < notifier_config().message_max_retries


def should_retry(retries: int, exception: BaseException) -> bool:
    """Dramatiq ``retry_when``: never retry a poison message; others while ``retries_left``."""
    if isinstance(exception, PoisonEnvelope):
        return False
    return retries_left(retries)


#: The longest message body a poison record keeps (characters): enough for any event the contracts
#: accept, so that ``poison replay`` has the whole message; a longer one is kept cut, and not replayable.
POISON_BODY_MAX = 1_000_000


def poison_record(message_id: str, body: Any, error: str, *, dead: bool) -> None:
    """Count a failed processing of a message in the database (attempts survive worker restarts).

    On a working connection: the failure being counted may have been a connection a restart killed.
    """
    try:
        text = json.dumps(body, default=str)[:POISON_BODY_MAX]
    except (TypeError, ValueError):
        text = repr(body)[:POISON_BODY_MAX]
    on_fresh_connection(lambda: _poison_count(message_id, text, error, dead=dead))


def _poison_count(message_id: str, text: str, error: str, *, dead: bool) -> None:
    with transaction.atomic():
        record, created = PoisonMessage.objects.select_for_update().get_or_create(
            message_id=message_id,
            defaults={"attempts": 1, "last_error": error[:2000], "body": text, "dead_lettered": dead},
        )
        if not created:
            PoisonMessage.objects.filter(pk=record.pk).update(
                attempts=F("attempts") + 1, last_error=error[:2000], dead_lettered=dead or record.dead_lettered
            )


def event_consume(data: Any, *, message: Any = None, take: Callable[[EventReading], Intake] | None = None) -> Intake:
    """Read ``data`` tolerantly, take it in once (with ``take``, inbox_take by default); no receiver is contacted.

    An event of a newer version than this notifier knows is parked, one of an unknown type recorded
    as unknown (both kept raw in the inbox, without effect). Raises PoisonEnvelope for data no
    release of the contracts accepts (dead-lettered at once) and lets any other error through for
    Dramatiq to retry.
    """
    message_id = getattr(message, "message_id", "") or "unknown"
    try:
        try:
            reading = envelope_read(data)
        except ContractError as exc:
            poison_record(message_id, data, f"contract: {exc}", dead=True)
            event_counted("poison")
            logger.warning(
                "poison message dead-lettered (see manage.py poison show %s)", message_id,
                extra={"message_id": message_id, "error": f"contract: {exc}"[:300]},
            )  # fmt: skip
            raise PoisonEnvelope(str(exc)) from exc
        envelope = reading.envelope
        with (
            log_context(
                event_id=str(envelope.event_id),
                correlation_id=envelope.correlation_id,
                traceparent=envelope.traceparent,
            ),
            span(
                f"{EVENTS_QUEUE} process",
                traceparent=envelope.traceparent,
                follow=True,
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "dramatiq",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": EVENTS_QUEUE,
                    "messaging.message.id": str(envelope.event_id),
                    "event.type": envelope.event_type,
                },
            ) as current,
        ):
            intake = _take(reading, take or inbox_take, message_id=message_id, data=data, message=message)
            if current is not None:
                current.set_attribute("notifier.intake", "duplicate" if intake.duplicate else intake.status)
        return intake
    finally:
        # As Django does after a request: drop this thread's connection if it broke or grew too old.
        close_old_connections()


def _take(
    reading: EventReading, take: Callable[[EventReading], Intake], *, message_id: str, data: Any, message: Any
) -> Intake:
    """Take the event in (counting a failure toward dead-lettering) and count the outcome."""
    envelope = reading.envelope
    try:
        intake = take(reading)
    except Exception as exc:
        retries = (getattr(message, "options", None) or {}).get("retries", 0)
        poison_record(message_id, data, f"{type(exc).__name__}: {exc}", dead=not retries_left(retries))
        raise
    if intake.duplicate:
        logger.info("event %s already taken in: nothing added", envelope.event_id)
        event_counted("duplicate")
    else:
        # a waiting event's effects commit when an arrival (or the sweep) releases it: its lag is observed then
        waiting = intake.status == InboxStatus.WAITING
        event_counted(intake.status, occurred_at=None if waiting else envelope.occurred_at)
        for occurred_at in intake.released_occurred_at:
            lag_observed(occurred_at)
        logger.debug("event taken in", extra={"event_type": envelope.event_type, "outcome": intake.status})
    return intake
