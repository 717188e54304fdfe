"""The relay's reads and writes of the outbox table, each one short statement in its own transaction.

On PostgreSQL the claim is one statement: due pending rows, oldest first, ``FOR UPDATE SKIP
LOCKED``, leased (``leased_until``, an unindexed column, so the row keeps its place in the claim
index and the update can be HOT), returned. Due-ness, leases and backoff use the database's
clock, never a relay host's.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Min, Q, QuerySet, Value
from django.db.models.functions import Now
from django.utils import timezone

from codegen_contracts.wire import WireEnvelope, wire_envelope_from_row
from outbox.models import ENVELOPE_COLUMNS, OutboxEvent, OutboxState


@dataclass(frozen=True)
class ClaimedRow:
    """An outbox row a relay holds the lease of: its envelope as it travels, and the relay's own facts."""

    id: int
    envelope: WireEnvelope
    attempts: int
    due_at: datetime

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> ClaimedRow:
        """Build from a claimed row's values by name (the envelope's fields, ``id``, ``attempts``, ``due_at``)."""
        return cls(id=row["id"], envelope=wire_envelope_from_row(row), attempts=row["attempts"], due_at=row["due_at"])


#: An outbox row's envelope as PostgreSQL returns it, by the envelope's field names: text where text
#: is all the wire needs, so the payload's JSON passes through untouched (the row is aliased ``o``).
PG_WIRE_COLUMNS: dict[str, str] = {
    "event_id": "o.event_id::text",
    "event_type": "o.event_type",
    "schema_version": "o.schema_version",
    "occurred_at": """to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    "aggregate_type": "o.aggregate_type",
    "aggregate_id": "o.aggregate_id",
    "sequence": "o.sequence",
    "correlation_id": "o.headers ->> 'correlation_id'",
    "traceparent": "o.headers ->> 'traceparent'",
    "payload": "o.payload::text",
}
#: What a PostgreSQL claim returns: the envelope, and what the relay needs besides.
_PG_RETURNED = {"id": "o.id", **PG_WIRE_COLUMNS, "attempts": "o.attempts", "due_at": "due.next_attempt_at"}

_PG_CLAIM = f"""
WITH due AS (
    SELECT id, next_attempt_at FROM outbox_event
    WHERE state = 'pending' AND next_attempt_at <= now() {{bound}}
        AND (leased_until IS NULL OR leased_until <= now())
    ORDER BY next_attempt_at, id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox_event AS o
SET claimed_at = now(), leased_until = now() + %s * interval '1 second'
FROM due WHERE o.id = due.id
RETURNING {", ".join(f"{expression} AS {name}" for name, expression in _PG_RETURNED.items())}
"""

#: The model fields an ORM claim reads (SQLite), converted to the wire's forms by ``_orm_wire_values``.
_ORM_FIELDS = ("id", *ENVELOPE_COLUMNS, "attempts", "next_attempt_at")


def _orm_wire_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row read through the ORM, renamed and converted to what a PostgreSQL claim returns."""
    return {
        **values,
        "event_id": str(values["event_id"]),
        "payload": json.dumps(values["payload"]),
        "correlation_id": (values["headers"] or {}).get("correlation_id"),
        "traceparent": (values["headers"] or {}).get("traceparent"),
        "occurred_at": values["created_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "due_at": values["next_attempt_at"],
    }


def outbox_row_wire_envelope(event: OutboxEvent) -> WireEnvelope:
    """The envelope of a stored outbox row, as the relay would publish it."""
    values = {name: getattr(event, name) for name in _ORM_FIELDS}
    return wire_envelope_from_row(_orm_wire_values(values))


def outbox_rows_claim(
    *, limit: int, lease_seconds: float, due_after: datetime | None = None, using: str = "default"
) -> list[ClaimedRow]:
    """Claim up to ``limit`` due pending rows, oldest first, leasing them for ``lease_seconds``.

    ``due_after`` limits the scan to rows due at or after it (the head of the queue), so that a
    claim does not wade through dead index entries of rows already published.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            sql = _PG_CLAIM.format(bound="AND next_attempt_at >= %s" if due_after else "")
            params: list[Any] = [due_after] if due_after else []
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, limit, lease_seconds])
                names = [column.name for column in cursor.description]
                rows = [ClaimedRow.from_mapping(dict(zip(names, values, strict=True))) for values in cursor.fetchall()]
        else:  # SQLite: one relay only, and BEGIN IMMEDIATE serializes it with the writers
            now = timezone.now()
            due = OutboxEvent.objects.using(using).filter(
                Q(leased_until__isnull=True) | Q(leased_until__lte=now),
                state=OutboxState.PENDING,
                next_attempt_at__lte=now,
            )
            if due_after:
                due = due.filter(next_attempt_at__gte=due_after)
            found = list(due.order_by("next_attempt_at", "id").values(*_ORM_FIELDS)[:limit])
            rows = [ClaimedRow.from_mapping(_orm_wire_values(values)) for values in found]
            OutboxEvent.objects.using(using).filter(id__in=[r.id for r in rows]).update(
                claimed_at=now, leased_until=now + timedelta(seconds=lease_seconds)
            )
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


def outbox_rows_mark_published(*, ids: Iterable[int], using: str = "default") -> int:
    """Mark leased rows published (attempt counted, error cleared)."""
    ids = list(ids)
    if not ids:
        return 0
    return (
        OutboxEvent.objects.using(using)
        .filter(id__in=ids, state=OutboxState.PENDING)
        .update(
            state=OutboxState.PUBLISHED,
            published_at=Now(),
            attempts=F("attempts") + 1,
            last_error="",
            leased_until=None,
        )
    )


def backoff_seconds(attempts: int, *, base: float, maximum: float) -> float:
    """Delay before the next try after ``attempts`` failed ones: exponential, capped, jittered."""
    ceiling = min(maximum, base * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def outbox_rows_mark_failed(
    *,
    failures: Iterable[tuple[ClaimedRow, str]],
    max_attempts: int,
    backoff_base: float,
    backoff_max: float,
    using: str = "default",
) -> tuple[int, int]:
    """Count a failed attempt on each row with its error; back it off, or mark it dead at the limit.

    Returns (rows backed off, rows now dead).
    """
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row, error in failures:
        groups[(row.attempts + 1, error[:2000])].append(row.id)
    retried = dead = 0
    with transaction.atomic(using=using):
        for (attempts, error), ids in groups.items():
            rows = OutboxEvent.objects.using(using).filter(id__in=ids, state=OutboxState.PENDING)
            if attempts >= max_attempts:
                dead += rows.update(state=OutboxState.DEAD, attempts=attempts, last_error=error, leased_until=None)
                continue
            delay = timedelta(seconds=backoff_seconds(attempts, base=backoff_base, maximum=backoff_max))
            retried += rows.update(
                attempts=attempts,
                last_error=error,
                leased_until=None,
                next_attempt_at=ExpressionWrapper(Now() + Value(delay), output_field=DateTimeField()),
            )
    return retried, dead


def outbox_rows_release(*, ids: Iterable[int], using: str = "default") -> int:
    """Give leased rows back, due now, without counting an attempt (a relay stopping)."""
    ids = list(ids)
    if not ids:
        return 0
    return OutboxEvent.objects.using(using).filter(id__in=ids, state=OutboxState.PENDING).update(leased_until=None)


def outbox_rows_purgeable(*, older_than: timedelta, using: str = "default") -> QuerySet[OutboxEvent]:
    """Published rows published more than ``older_than`` ago (by the database's clock)."""
    cutoff = ExpressionWrapper(Now() - Value(older_than), output_field=DateTimeField())
    return OutboxEvent.objects.using(using).filter(state=OutboxState.PUBLISHED, published_at__lt=cutoff)


def outbox_rows_purge_published(*, older_than: timedelta, batch: int, using: str = "default") -> int:
    """Delete published rows older than ``older_than``, ``batch`` at a time; returns how many.

    Never touches pending or dead rows.
    """
    total = 0
    while True:
        with transaction.atomic(using=using):
            doomed = list(
                outbox_rows_purgeable(older_than=older_than, using=using)
                .order_by("published_at")
                .values_list("id", flat=True)[:batch]
            )
            if doomed:
                OutboxEvent.objects.using(using).filter(id__in=doomed, state=OutboxState.PUBLISHED).delete()
        total += len(doomed)
        if len(doomed) < batch:
            return total


def outbox_rows_by_state(*, using: str = "default") -> dict[str, int]:
    """How many rows are in each state (every state present, zero when none)."""
    counts = {state.value: 0 for state in OutboxState}
    for state, count in OutboxEvent.objects.using(using).order_by().values_list("state").annotate(n=Count("id")):
        counts[state] = count
    return counts


def outbox_oldest_pending_age(*, using: str = "default") -> float:
    """Seconds since the oldest pending row was written (0 when none is pending)."""
    age = (
        OutboxEvent.objects.using(using)
        .filter(state=OutboxState.PENDING)
        .aggregate(age=ExpressionWrapper(Now() - Min("created_at"), output_field=DurationField()))["age"]
    )
    return 0.0 if age is None else max(0.0, age.total_seconds())
