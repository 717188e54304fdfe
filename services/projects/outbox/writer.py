"""Writing outbox rows: the one path by which an event comes into existence."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field
from django.utils import timezone

from codegen_contracts import event_spec, payload_validate
from codegen_telemetry import correlation_id_get, span
from outbox.errors import OutboxWriteOutsideTransaction
from outbox.models import ENVELOPE_COLUMNS, OutboxEvent, OutboxState
from outbox.traceparent import traceparent_get
from outbox.wakeup import NOTIFY_CHANNEL, wakeup_after_commit, wakeup_mode

logger = logging.getLogger(__name__)

#: Columns the writer fills, in the order of its INSERT.
_COLUMNS = (*ENVELOPE_COLUMNS, "state", "attempts", "next_attempt_at", "last_error", "replay_of")


#: Columns that take the database's clock on PostgreSQL, so app hosts' clocks never matter.
_DB_CLOCK_COLUMNS = frozenset({"created_at", "next_attempt_at"})


@functools.cache
def _insert(vendor: str, notify: bool) -> tuple[str, list[Field], list[str]]:
    """The INSERT for ``vendor``: its SQL, the fields of its parameters and their names."""
    meta = OutboxEvent._meta
    names = [n for n in _COLUMNS if not (vendor == "postgresql" and n in _DB_CLOCK_COLUMNS)]
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(meta.get_field(name).column for name in _COLUMNS)  # type: ignore[union-attr]
    values = ", ".join(
        "statement_timestamp()" if vendor == "postgresql" and name in _DB_CLOCK_COLUMNS else "%s" for name in _COLUMNS
    )
    sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({values})"
    if notify:  # one round trip: the NOTIFY rides on the INSERT and is delivered at commit
        sql = f"WITH inserted AS ({sql} RETURNING 1) SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM inserted"
    return sql, fields, names  # type: ignore[return-value]


def _insert_cursor(connection: Any) -> Any:
    """A cursor for the INSERT: on PostgreSQL with prepared statements on, a server-binding one.

    The INSERT is then parsed and planned once per connection instead of on every write. The
    cursor is wrapped like Django's own (error translation, query logging, execute wrappers).
    """
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))


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
    """
    _transaction_required(event_type, using)
    spec = event_spec(event_type)
    headers: dict[str, str] = {}
    correlation_id = correlation_id_get()
    if correlation_id:
        headers["correlation_id"] = correlation_id
    attributes = {"event.type": event_type, "event.aggregate_id": str(aggregate_id), "event.sequence": sequence}
    with span("outbox write", attributes=attributes) as current:
        traceparent = traceparent_get()  # this span's when tracing is on: the relay's publish follows it
        if traceparent:
            headers["traceparent"] = traceparent
        event_id = _row_insert(
            {
                "event_type": event_type,
                "schema_version": spec.version,
                "aggregate_type": spec.aggregate_type,
                "aggregate_id": str(aggregate_id),
                "sequence": sequence,
                "payload": payload_validate(event_type, payload),
                "headers": headers,
                "replay_of": None,
            },
            using=using,
        )
        if current is not None:
            current.set_attribute("event.id", str(event_id))
        logger.debug("outbox row written", extra={"event_id": str(event_id), "event_type": event_type})
        return event_id


def outbox_event_reissue(*, original: OutboxEvent, using: str = DEFAULT_DB_ALIAS) -> uuid.UUID:
    """Write ``original`` again under a new event id linked to it (``replay_of``); return the new id.

    An operator's forced reprocessing: the consumer sees a new event. Written like every event
    (the caller's transaction, the database's clock, the relays woken on commit).
    """
    _transaction_required(original.event_type, using)
    return _row_insert(
        {
            "event_type": original.event_type,
            "schema_version": original.schema_version,
            "aggregate_type": original.aggregate_type,
            "aggregate_id": original.aggregate_id,
            "sequence": original.sequence,
            "payload": original.payload,
            "headers": {**original.headers, "replay_of": str(original.event_id)},
            "replay_of": original.event_id,
        },
        using=using,
    )


def _transaction_required(event_type: str, using: str) -> None:
    if not connections[using].in_atomic_block:
        raise OutboxWriteOutsideTransaction(
            f"{event_type} must be written inside transaction.atomic() together with its change"
        )


def _row_insert(event: dict[str, Any], *, using: str) -> uuid.UUID:
    """Insert one pending row, due now, and wake the relays on commit; the one write of every event.

    This is the hot path of every evented write, so it is one INSERT with the fields' own
    database adapters rather than an ORM ``create()``, which costs several times the round trip.
    """
    connection = connections[using]
    now = timezone.now()  # used off PostgreSQL only: there the database's clock fills these columns
    event_id = uuid.uuid4()
    row = {
        **event,
        "event_id": event_id,
        "created_at": now,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
    }
    mode = wakeup_mode(using)
    sql, fields, names = _insert(connection.vendor, mode == "notify")
    params = [field.get_db_prep_save(row[name], connection) for field, name in zip(fields, names, strict=True)]
    with _insert_cursor(connection) as cursor:
        cursor.execute(sql, params)
    if mode == "redis":
        wakeup_after_commit(using)
    return event_id
