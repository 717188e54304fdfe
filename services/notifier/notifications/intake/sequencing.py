"""The database side of per-aggregate order: reading and locking cursors, recording and closing gaps.

On PostgreSQL intake reads its aggregates' cursors without locking them (``aggregates_read``) and
moves them with a compare-and-set in its write statement (``intake_writes.pg_writes_checked``).
Elsewhere, and for what keeps losing that race, ``aggregates_lock`` locks them for the caller's
transaction, in (type, id) order, so two transactions that share aggregates never wait on each
other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.db import connection
from django.utils import timezone

from notifications.config import notifier_config
from notifications.models import AggregateCursor, InboxEvent, InboxStatus, SequenceGap

#: An aggregate: (aggregate_type, aggregate_id).
Aggregate = tuple[str, str]


@dataclass(frozen=True)
class WaitingRow:
    """An inbox row waiting for an earlier sequence of its aggregate."""

    id: int
    event_id: Any
    sequence: int
    raw: Any


@dataclass(frozen=True)
class Position:
    """An aggregate's cursor as read: up to where its events took effect, its waiting rows by sequence, and
    ``seen``: the cursor's (applied, waiting) as stored, None when it had no cursor yet (what a
    compare-and-set checks)."""

    applied: int
    rows: dict[int, WaitingRow]
    seen: tuple[int, int] | None = None


#: The intake's lookups, each one index probe per row whatever the planner thinks of the tables' size (plans are
#: kept, and one made while the inbox was nearly empty turned a join or ``= ANY`` into a sequential scan, slower
#: with every row stored). An aggregate's cursor by its unique key, for ``{row}`` (with ``t`` and ``i``):
CURSOR_OF = (
    "SELECT applied, waiting FROM notifier_aggregate WHERE aggregate_type = {row}.t AND aggregate_id = {row}.i LIMIT 1"
)
#: Its waiting rows' ``{columns}``, through the partial index on waiting rows, only where its cursor ``{cursor}``
#: counts some (``OFFSET 0`` keeps the lookup per aggregate):
WAITING_OF = (
    "SELECT {columns} FROM notifier_inbox WHERE {cursor}.waiting > 0 AND status = 'waiting' "
    "AND aggregate_type = {row}.t AND aggregate_id = {row}.i OFFSET 0"
)
#: Whether the inbox has the event id ``{event_id}`` already, by its unique key:
INBOX_HAS = "SELECT true AS found FROM notifier_inbox WHERE event_id = {event_id} LIMIT 1"

#: Moves the cursors ``{moves}`` give (``t``, ``i``, the new ``applied`` and ``waiting``, and the pair the intake read,
#: ``seen_applied`` and ``seen_waiting``, NULL where there was no cursor) each only if it is still that pair (a new one
#: only if none was made meanwhile), in (type, id) order so that two statements never wait on each other in a cycle;
#: answers those that moved. Every change to an aggregate's waiting rows changes its ``applied`` or its ``waiting``,
#: and neither ever goes back to an earlier pair, so an unchanged pair means nothing the intake decided on has changed.
CURSORS_MOVE_CHECKED = """
    INSERT INTO notifier_aggregate AS c (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
    SELECT t, i, applied, waiting, 0, now() FROM {moves} ORDER BY t, i
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
        SET applied = EXCLUDED.applied, waiting = EXCLUDED.waiting, updated_at = EXCLUDED.updated_at
        WHERE (c.applied, c.waiting) = (
            SELECT m.seen_applied, m.seen_waiting FROM {moves} m WHERE m.t = c.aggregate_type AND m.i = c.aggregate_id
        )
    RETURNING aggregate_type AS t, aggregate_id AS i, applied"""

#: The cursors of a batch's aggregates with their waiting rows, as of one snapshot, no lock; then which of the
#: batch's event ids the inbox has already.
_PG_READ = f"""
SELECT wanted.t, wanted.i, c.applied, c.waiting, w.id, w.event_id, w.sequence, w.raw::text
FROM json_to_recordset(%s::json) AS wanted(t text, i text)
CROSS JOIN LATERAL ({CURSOR_OF.format(row="wanted")}) c
LEFT JOIN LATERAL ({WAITING_OF.format(columns="id, event_id, sequence, raw", cursor="c", row="wanted")}) w ON true
UNION ALL
SELECT NULL::text, NULL::text, NULL::integer, NULL::integer, NULL::bigint, arriving.event_id, NULL::integer, NULL::text
FROM (SELECT event_id::uuid FROM json_array_elements_text(%s::json) AS t(event_id)) arriving
CROSS JOIN LATERAL ({INBOX_HAS.format(event_id="arriving.event_id")}) k
"""


def aggregates_read(
    aggregates: Iterable[Aggregate], event_ids: Iterable[Any]
) -> tuple[dict[Aggregate, Position], set[Any]]:
    """The positions of ``aggregates`` (PostgreSQL), without locking, and which of ``event_ids`` the inbox
    has: a write that depends on a position checks that the cursor is still ``Position.seen`` as it moves
    it. An aggregate without a cursor is at 0."""
    wanted = sorted(set(aggregates))
    seen: dict[Aggregate, tuple[int, int]] = {}
    rows: dict[Aggregate, dict[int, WaitingRow]] = {agg: {} for agg in wanted}
    known: set[Any] = set()
    with connection.cursor() as cursor:
        cursor.execute(
            _PG_READ,
            [
                msgspec.json.encode([{"t": t, "i": i} for t, i in wanted]).decode(),
                msgspec.json.encode(list(event_ids)).decode(),
            ],
        )
        for kind, key, applied, waiting, row_id, event_id, sequence, raw in cursor.fetchall():
            if kind is None:
                known.add(event_id)
                continue
            seen[(kind, key)] = (applied, waiting)
            if row_id is not None:
                rows[(kind, key)][sequence] = WaitingRow(row_id, event_id, sequence, msgspec.json.decode(raw))
    return {agg: Position(seen[agg][0] if agg in seen else 0, rows[agg], seen.get(agg)) for agg in wanted}, known


def aggregates_lock(aggregates: Iterable[Aggregate]) -> dict[Aggregate, Position]:
    """Lock the cursors of ``aggregates`` for the caller's transaction, creating them; their positions and
    waiting rows (through the ORM: any database)."""
    wanted = sorted(set(aggregates))
    rows: dict[Aggregate, dict[int, WaitingRow]] = {agg: {} for agg in wanted}
    seen: dict[Aggregate, tuple[int, int]] = {}
    for kind, key in wanted:
        AggregateCursor.objects.get_or_create(aggregate_type=kind, aggregate_id=key)
        cursor_row = AggregateCursor.objects.select_for_update().get(aggregate_type=kind, aggregate_id=key)
        seen[(kind, key)] = (cursor_row.applied, cursor_row.waiting)
        if cursor_row.waiting:
            waiting = InboxEvent.objects.filter(status=InboxStatus.WAITING.value, aggregate_type=kind, aggregate_id=key)
            for row in waiting:
                rows[(kind, key)][row.sequence] = WaitingRow(row.id, row.event_id, row.sequence, row.raw)
    return {agg: Position(seen[agg][0], rows[agg], seen[agg]) for agg in wanted}


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
