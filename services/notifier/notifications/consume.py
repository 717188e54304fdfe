"""Consuming one event message: validate, take into the inbox, deliver. The actor calls only this."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, transaction
from django.db.models import F

from codegen_contracts import ContractError, Envelope, UnknownEventType, envelope_from_builtins
from notifications.db import on_fresh_connection
from notifications.deliveries import deliveries_attempt
from notifications.errors import PoisonEnvelope
from notifications.inbox import Intake, inbox_take
from notifications.models import PoisonMessage

logger = logging.getLogger(__name__)


def retries_left(retries: int) -> bool:
    """Whether a message that failed ``retries`` times before may be tried again (MESSAGE_MAX_RETRIES)."""
    from django.conf import settings

    return retries < settings.NOTIFIER["MESSAGE_MAX_RETRIES"]


def should_retry(retries: int, exception: BaseException) -> bool:
    """Dramatiq ``retry_when``: never retry a poison message; others while ``retries_left``."""
    if isinstance(exception, PoisonEnvelope):
        return False
    return retries_left(retries)


def poison_record(message_id: str, body: Any, error: str, *, dead: bool) -> None:
    """Count a failed processing of a message in the database (attempts survive worker restarts).

    On a working connection: the failure being counted may have been a connection a restart killed.
    """
    try:
        text = json.dumps(body, default=str)[:20_000]
    except (TypeError, ValueError):
        text = repr(body)[:20_000]
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


def event_consume(data: Any, *, message: Any = None, take: Callable[[Envelope], Intake] | None = None) -> Intake | None:
    """Validate ``data`` as an envelope, take it in once (with ``take``, inbox_take by default), attempt
    its deliveries.

    Unknown event types are acknowledged and logged. Raises PoisonEnvelope for data the contracts
    refuse (dead-lettered at once) and lets any other error through for Dramatiq to retry.
    """
    message_id = getattr(message, "message_id", "") or "unknown"
    try:
        try:
            envelope = envelope_from_builtins(data)
        except UnknownEventType as exc:
            logger.info("message %s: %s; acknowledged and ignored", message_id, exc)
            return None
        except ContractError as exc:
            poison_record(message_id, data, f"contract: {exc}", dead=True)
            raise PoisonEnvelope(str(exc)) from exc
        try:
            intake = (take or inbox_take)(envelope)
        except Exception as exc:
            retries = (getattr(message, "options", None) or {}).get("retries", 0)
            poison_record(message_id, data, f"{type(exc).__name__}: {exc}", dead=not retries_left(retries))
            raise
        if intake.duplicate:
            logger.info("event %s already taken in: nothing added", envelope.event_id)
        deliveries_attempt(intake.delivery_ids)
        return intake
    finally:
        # As Django does after a request: drop this thread's connection if it broke or grew too old.
        close_old_connections()
