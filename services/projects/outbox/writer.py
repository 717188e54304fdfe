"""Writing outbox rows: the one path by which an event comes into existence."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from codegen_contracts import event_spec, payload_validate
from outbox.correlation import correlation_id_get
from outbox.errors import OutboxWriteOutsideTransaction
from outbox.models import OutboxEvent


def outbox_event_write(
    *,
    event_type: str,
    aggregate_id: str | int,
    sequence: int,
    payload: Mapping[str, Any],
    using: str = DEFAULT_DB_ALIAS,
) -> OutboxEvent:
    """Write one outbox row in the caller's transaction and return it.

    The payload is validated against the contract here, so a bad payload fails the business
    write rather than the relay. Raises OutboxWriteOutsideTransaction when no transaction is
    open on ``using``, and UnknownEventType / InvalidPayload from the contracts.
    """
    if not connections[using].in_atomic_block:
        raise OutboxWriteOutsideTransaction(
            f"{event_type} must be written inside transaction.atomic() together with its change"
        )
    spec = event_spec(event_type)
    now = timezone.now()
    headers: dict[str, str] = {}
    correlation_id = correlation_id_get()
    if correlation_id:
        headers["correlation_id"] = correlation_id
    return OutboxEvent.objects.using(using).create(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=spec.version,
        aggregate_type=spec.aggregate_type,
        aggregate_id=str(aggregate_id),
        sequence=sequence,
        payload=payload_validate(event_type, payload),
        headers=headers,
        created_at=now,
        next_attempt_at=now,
    )
