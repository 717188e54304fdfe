"""The database side of per-aggregate order: locking the cursors a batch touches, recording and closing gaps.

``aggregates_lock`` locks the cursors of a batch's aggregates for the caller's transaction, in (type, id)
order, so two intakes that share aggregates never wait on each other in a cycle, and one aggregate's
events are decided and written one transaction after the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from codegen_contracts import envelope_read
from notifications.config import notifier_config
from notifications.models import AggregateCursor, InboxEvent, InboxStatus, SequenceGap

#: An aggregate: (aggregate_type, aggregate_id).
Aggregate = tuple[str, str]


@dataclass(frozen=True)
class WaitingRow:
    """An inbox row waiting for an earlier sequence of its aggregate, with the effects it keeps."""

    id: int
    event_id: Any
    sequence: int
    event_type: str
    occurred_at: datetime
    received_at: datetime
    effects: dict[str, Any]


@dataclass(frozen=True)
class Position:
    """An aggregate's locked cursor: up to where its events took effect, its waiting rows by sequence, and
    ``seen``, the cursor's (applied, waiting) as stored."""

    cursor_id: int
    applied: int
    rows: dict[int, WaitingRow]
    seen: tuple[int, int]


def on_postgresql() -> bool:
    """Whether the intake step runs its own statements (PostgreSQL) or the ORM's."""
    return connection.vendor == "postgresql"


def pg_rows(sql: str, *inputs: list[Any]) -> list[tuple[Any, ...]]:
    """Run one of the intake step's PostgreSQL statements on ``inputs`` (each sent as one JSON array); its rows.

    Each has a fixed text (planned once) and probes an index per row (``LATERAL``, ``= ANY``, ``ON CONFLICT``):
    a join planned while the tables were nearly empty would scan them, slower with every row stored.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [msgspec.json.encode(rows).decode() for rows in inputs])
        return cursor.fetchall() if cursor.description else []


#: The PostgreSQL statements of the reads, each reading its rows from JSON arrays.
_PG = {
    # creates the cursors that are missing and locks every one, in the order given ((type, id) order)
    "lock": """
        INSERT INTO notifier_aggregate (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
        SELECT aggregate_type, aggregate_id, 0, 0, 0, now()
        FROM json_to_recordset(%s::json) AS v(aggregate_type text, aggregate_id text, n integer) ORDER BY n
        ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
        RETURNING id, aggregate_type, aggregate_id, applied, waiting""",
    # which event ids the inbox has, then the waiting rows of the aggregates given (effects as JSON text)
    "read": """
        SELECT k.id, k.event_id, k.status, k.aggregate_type, k.aggregate_id, k.sequence, k.event_type,
               k.occurred_at, k.received_at, k.effects::text
        FROM json_array_elements_text(%s::json) AS e(event_id)
        CROSS JOIN LATERAL (SELECT * FROM notifier_inbox WHERE event_id = e.event_id::uuid LIMIT 1) k
        UNION ALL
        SELECT w.id, w.event_id, w.status, w.aggregate_type, w.aggregate_id, w.sequence, w.event_type,
               w.occurred_at, w.received_at, w.effects::text
        FROM json_to_recordset(%s::json) AS a(aggregate_type text, aggregate_id text)
        CROSS JOIN LATERAL (
            SELECT * FROM notifier_inbox WHERE status = 'waiting' AND aggregate_type = a.aggregate_type
                AND aggregate_id = a.aggregate_id
            OFFSET 0
        ) w""",
}


#: Creates the cursors of a batch's aggregates that have none and locks every one, in the order given
#: ((type, id) order), in one statement; answers each cursor's id and position.
_CURSORS_LOCK = """
INSERT INTO notifier_aggregate (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
VALUES {rows}
ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
RETURNING id, aggregate_type, aggregate_id, applied, waiting"""
#: Cursors per statement (SQLite takes at most 999 parameters).
_LOCK_ROWS = 400


def _aggregate_json(aggregate: Aggregate) -> dict[str, Any]:
    """An aggregate as the statements' JSON rows name it."""
    return {"aggregate_type": aggregate[0], "aggregate_id": aggregate[1]}


def _by_type(aggregates: Iterable[Aggregate]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, key in aggregates:
        grouped.setdefault(kind, []).append(key)
    return grouped


def aggregates_lock(aggregates: Iterable[Aggregate], *, skip_locked: bool = False) -> dict[Aggregate, Position]:
    """Lock the cursors of ``aggregates`` for the caller's transaction, in (type, id) order, creating the missing
    ones; their positions, without their waiting rows (``inbox_read``). With ``skip_locked`` (the sweep), only
    existing cursors no other transaction holds are locked, and the others left out."""
    wanted = sorted(set(aggregates))
    found: list[tuple[Any, ...]] = []
    if not wanted:
        pass
    elif skip_locked:
        query = AggregateCursor.objects.none()
        for kind, keys in _by_type(wanted).items():
            query |= AggregateCursor.objects.filter(aggregate_type=kind, aggregate_id__in=keys)
        found = list(
            query.order_by("aggregate_type", "aggregate_id")
            .select_for_update(skip_locked=True)
            .values_list("pk", "aggregate_type", "aggregate_id", "applied", "waiting")
        )
    elif on_postgresql():
        found = pg_rows(_PG["lock"], [{**_aggregate_json(aggregate), "n": n} for n, aggregate in enumerate(wanted)])
    else:
        for start in range(0, len(wanted), _LOCK_ROWS):
            chunk = wanted[start : start + _LOCK_ROWS]
            rows = ", ".join(["(%s, %s, 0, 0, 0, CURRENT_TIMESTAMP)"] * len(chunk))
            with connection.cursor() as cursor:
                cursor.execute(_CURSORS_LOCK.format(rows=rows), [part for aggregate in chunk for part in aggregate])
                found += cursor.fetchall()
    return {(kind, key): Position(pk, applied, {}, (applied, waiting)) for pk, kind, key, applied, waiting in found}


def inbox_read(event_ids: Iterable[Any], positions: dict[Aggregate, Position]) -> set[Any]:
    """Which of ``event_ids`` the inbox has, and (into ``positions``) the waiting rows of the aggregates whose
    cursor counts some: one statement. Under the cursors' locks, nothing it reads can change before commit."""
    waiting = [agg for agg, position in positions.items() if position.seen[1]]
    rows: Iterable[tuple[Any, ...]]
    if on_postgresql():
        rows = [
            (*row[:-1], None if row[-1] is None else msgspec.json.decode(row[-1]))
            for row in pg_rows(
                _PG["read"],
                [str(e) for e in event_ids],
                [_aggregate_json(aggregate) for aggregate in waiting],
            )
        ]
    else:
        condition = Q(event_id__in=list(event_ids))
        for kind, keys in _by_type(waiting).items():
            condition |= Q(status=InboxStatus.WAITING.value, aggregate_type=kind, aggregate_id__in=keys)
        rows = InboxEvent.objects.filter(condition).values_list(
            "id", "event_id", "status", "aggregate_type", "aggregate_id", "sequence", "event_type", "occurred_at",
            "received_at", "effects",
        )  # fmt: skip
    known: set[Any] = set()
    without_effects: list[int] = []
    for pk, event_id, status, kind, key, sequence, event_type, occurred_at, received_at, effects in rows:
        known.add(event_id)
        position = positions.get((kind, key))
        if status == InboxStatus.WAITING.value and position is not None:
            position.rows[sequence] = WaitingRow(
                pk, event_id, sequence, event_type, occurred_at, received_at, effects or {}
            )
            if effects is None:
                without_effects.append(pk)
    if without_effects:  # rows from before effects were kept (migration 0005): planned from their message, once
        from notifications.intake.event_plan import intake_plan

        raws = dict(InboxEvent.objects.filter(pk__in=without_effects).values_list("pk", "raw"))
        for position in positions.values():
            for sequence, row in list(position.rows.items()):
                if row.id in raws:
                    kept = intake_plan(envelope_read(raws[row.id])).effects()
                    position.rows[sequence] = replace(row, effects=kept)
    return known


def gaps_open(aggregate: Aggregate, sequences: Iterable[int]) -> None:
    """Record ``sequences`` of ``aggregate`` as missing."""
    now = timezone.now()
    SequenceGap.objects.bulk_create(
        [
            SequenceGap(aggregate_type=aggregate[0], aggregate_id=aggregate[1], sequence=s, opened_at=now)
            for s in sequences
        ],
        ignore_conflicts=True,
    )


def gaps_close(arrivals: Iterable[tuple[Aggregate, int, Any]]) -> int:
    """Close the open gaps these late arrivals (aggregate, sequence, event id) fill; how many closed."""
    closed = 0
    now = timezone.now()
    for (kind, key), sequence, event_id in arrivals:
        closed += SequenceGap.objects.filter(
            aggregate_type=kind, aggregate_id=key, sequence=sequence, closed_at__isnull=True
        ).update(closed_at=now, closed_by=event_id)
    return closed


@dataclass(frozen=True)
class OpenGap:
    """The missing sequences of one aggregate, since when, and whether it is old enough to alert."""

    aggregate_type: str
    aggregate_id: str
    missing: list[int]
    opened_at: datetime
    alerting: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "aggregate": f"{self.aggregate_type}:{self.aggregate_id}",
            "missing": self.missing,
            "opened_at": self.opened_at.isoformat(),
            "alerting": self.alerting,
        }


def gaps_open_list(*, alert_after: float | None = None, limit: int = 1000) -> list[OpenGap]:
    """Open gaps by aggregate, oldest first (at most ``limit`` aggregates); ``alerting`` once open
    longer than ``alert_after`` seconds (NOTIFIER_GAP_ALERT_AFTER)."""
    alert_after = notifier_config().gap_alert_after if alert_after is None else alert_after
    cutoff = timezone.now() - timedelta(seconds=alert_after)
    by_aggregate: dict[Aggregate, list[SequenceGap]] = {}
    for gap in SequenceGap.objects.filter(closed_at__isnull=True).order_by("opened_at", "sequence"):
        aggregate = (gap.aggregate_type, gap.aggregate_id)
        if aggregate in by_aggregate or len(by_aggregate) < limit:
            by_aggregate.setdefault(aggregate, []).append(gap)
    found = [
        OpenGap(kind, key, sorted(g.sequence for g in gaps), min(g.opened_at for g in gaps),
                min(g.opened_at for g in gaps) <= cutoff)
        for (kind, key), gaps in by_aggregate.items()
    ]  # fmt: skip
    return sorted(found, key=lambda gap: gap.opened_at)


def sequence_ranges(sequences: list[int]) -> str:
    """``[3, 5, 6, 7]`` as ``3, 5-7``."""
    runs: list[list[int]] = []
    for sequence in sorted(sequences):
        if runs and runs[-1][1] + 1 == sequence:
            runs[-1][1] = sequence
        else:
            runs.append([sequence, sequence])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
