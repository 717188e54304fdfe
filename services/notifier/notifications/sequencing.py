"""The database side of per-aggregate order: locking cursors, moving them, recording and closing gaps.

Every function runs inside the caller's transaction. Cursors are locked in (type, id) order, so
two transactions that share aggregates never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from django.conf import settings
from django.db import connection
from django.utils import timezone

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
    """A locked aggregate's cursor: up to where its events took effect, its waiting rows by sequence, and
    ``moved``: how far the lock statement itself advanced it over this batch's next sequences (None
    when it left the batch's arrivals to ``order_decide``)."""

    applied: int
    rows: dict[int, WaitingRow]
    moved: int | None = None


#: Locks (creating) the cursors of a batch's aggregates, in (type, id) order, and decides the common
#: case on the spot: when nothing of the aggregate waits and the arrivals are distinct and all after
#: the cursor, the run of them that follows it takes effect (the cursor moves over it, ``moved_by``
#: says by how much) and the rest wait (counted in ``waiting``). This is ``order_decide``'s outcome for
#: that case: with distinct sequences ranked 1..n, the run is those whose s - rank equals the cursor,
#: which is every s - rank equal to first - 1 when the first is the cursor's next, and none otherwise.
#: Otherwise the row is only locked (``moved_by = -1``) and the caller decides. One write per cursor
#: and batch.
_PG_LOCK = """
WITH arrivals AS (
    SELECT t, i, s, s - row_number() OVER w AS offset_, min(s) OVER w AS first
    FROM json_to_recordset(%s::json) AS a(t text, i text, s integer)
    WINDOW w AS (PARTITION BY t, i ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
), batch AS (
    SELECT t, i, count(*) AS n, count(DISTINCT s) = count(*) AS distinct_, min(s) AS first,
           count(*) FILTER (WHERE offset_ = first - 1) AS run
    FROM arrivals GROUP BY t, i
)
INSERT INTO notifier_aggregate AS c (aggregate_type, aggregate_id, applied, waiting, moved_by, updated_at)
SELECT t, i,
       CASE WHEN distinct_ AND first = 1 THEN run ELSE 0 END,
       CASE WHEN distinct_ THEN n - CASE WHEN first = 1 THEN run ELSE 0 END ELSE 0 END,
       CASE WHEN distinct_ THEN CASE WHEN first = 1 THEN run ELSE 0 END ELSE -1 END,
       now()
FROM batch ORDER BY t, i
ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET (applied, waiting, moved_by, updated_at) = (
    SELECT CASE WHEN x.ok THEN c.applied + x.moved ELSE c.applied END,
           CASE WHEN x.ok THEN b.n - x.moved ELSE c.waiting END,
           CASE WHEN x.ok THEN x.moved ELSE -1 END,
           now()
    FROM batch b, LATERAL (
        SELECT c.waiting = 0 AND b.first > c.applied AND b.distinct_ AS ok,
               CASE WHEN b.first = c.applied + 1 THEN b.run ELSE 0 END AS moved
    ) x
    WHERE b.t = c.aggregate_type AND b.i = c.aggregate_id
)
RETURNING aggregate_type, aggregate_id, applied, waiting, moved_by
"""
#: The waiting rows of the aggregates that have some. A statement of its own: its snapshot is taken once
#: the locks are held, so it sees the rows of the transaction that held them before (one statement would not).
_PG_WAITING = """
SELECT w.aggregate_type, w.aggregate_id, w.id, w.event_id, w.sequence, w.raw
FROM notifier_inbox w JOIN json_to_recordset(%s::json) AS a(t text, i text)
    ON w.aggregate_type = a.t AND w.aggregate_id = a.i
WHERE w.status = 'waiting'
"""


def aggregates_lock(arrivals: Iterable[tuple[Aggregate, int]]) -> dict[Aggregate, Position]:
    """Lock the cursors of the aggregates of ``arrivals`` ((aggregate, sequence) pairs), creating them;
    their positions and waiting rows.

    On PostgreSQL the common case is decided by the lock statement itself (``Position.moved``).
    Waiting rows are read only for the aggregates whose cursor counts some: most batches have none.
    """
    arrivals = list(arrivals)
    wanted = sorted({aggregate for aggregate, _ in arrivals})
    rows: dict[Aggregate, dict[int, WaitingRow]] = {agg: {} for agg in wanted}
    if connection.vendor == "postgresql":
        positions: dict[Aggregate, tuple[int, int | None]] = {}
        with connection.cursor() as cursor:
            keys = [{"t": t, "i": i, "s": s} for (t, i), s in arrivals]
            cursor.execute(_PG_LOCK, [msgspec.json.encode(keys).decode()])
            counted = []
            for kind, key, position, waiting, moved_by in cursor.fetchall():
                positions[(kind, key)] = (position, moved_by if moved_by >= 0 else None)
                if waiting and moved_by < 0:
                    counted.append({"t": kind, "i": key})
            if counted:
                cursor.execute(_PG_WAITING, [msgspec.json.encode(counted).decode()])
                for kind, key, row_id, event_id, sequence, raw in cursor.fetchall():
                    message = raw if isinstance(raw, dict) else msgspec.json.decode(raw)
                    rows[(kind, key)][sequence] = WaitingRow(row_id, event_id, sequence, message)
        return {agg: Position(positions[agg][0], rows[agg], positions[agg][1]) for agg in wanted}
    applied: dict[Aggregate, int] = {}
    for kind, key in wanted:
        AggregateCursor.objects.get_or_create(aggregate_type=kind, aggregate_id=key)
        cursor_row = AggregateCursor.objects.select_for_update().get(aggregate_type=kind, aggregate_id=key)
        applied[(kind, key)] = cursor_row.applied
        if cursor_row.waiting:
            waiting = InboxEvent.objects.filter(status=InboxStatus.WAITING.value, aggregate_type=kind, aggregate_id=key)
            for row in waiting:
                rows[(kind, key)][row.sequence] = WaitingRow(row.id, row.event_id, row.sequence, row.raw)
    return {agg: Position(applied[agg], rows[agg]) for agg in wanted}


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
    alert_after = settings.NOTIFIER["GAP_ALERT_AFTER"] if alert_after is None else alert_after
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
