"""Writing outbox rows: the one path by which an event comes into existence."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field
from django.utils import timezone

from codegen_contracts import event_spec, payload_validate
from outbox.correlation import correlation_id_get
from outbox.errors import OutboxWriteOutsideTransaction
from outbox.models import OutboxEvent, OutboxState

#: Columns the writer fills, in the order of its INSERT.
_COLUMNS = (
    "event_id",
    "event_type",
    "schema_version",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "payload",
    "headers",
    "created_at",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
)


@functools.cache
def _insert() -> tuple[str, list[Field]]:
    meta = OutboxEvent._meta
    fields = [meta.get_field(name) for name in _COLUMNS]
    columns = ", ".join(field.column for field in fields)  # type: ignore[attr-defined]
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {meta.db_table} ({columns}) VALUES ({placeholders})", fields  # type: ignore[return-value]


def outbox_event_write(
    *,
    event_type: str,
    aggregate_id: str | int,
    sequence: int,
    payload: Mapping[str, Any],
    using: str = DEFAULT_DB_ALIAS,
) -> uuid.UUID:
    """Write one outbox row in the caller's transaction and return its event id.

    The payload is validated against the contract here, so a bad payload fails the business
    write rather than the relay. Raises OutboxWriteOutsideTransaction when no transaction is
    open on ``using``, and UnknownEventType / InvalidPayload from the contracts.

    This is the hot path of every evented write, so it is one INSERT with the fields' own
    database adapters rather than an ORM ``create()``, which costs several times the round trip.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise OutboxWriteOutsideTransaction(
            f"{event_type} must be written inside transaction.atomic() together with its change"
        )
    spec = event_spec(event_type)
    now = timezone.now()
    headers: dict[str, str] = {}
    correlation_id = correlation_id_get()
    if correlation_id:
        headers["correlation_id"] = correlation_id
    event_id = uuid.uuid4()
    row = (
        event_id,
        event_type,
        spec.version,
        spec.aggregate_type,
        str(aggregate_id),
        sequence,
        payload_validate(event_type, payload),
        headers,
        now,
        OutboxState.PENDING.value,
        0,
        now,
        "",
    )
    sql, fields = _insert()
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return event_id
