"""What operators do to the outbox: see its state, replay rows (audited), purge published rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Count, Q
from django.db.models.functions import Now
from django.utils import timezone

from codegen_config.commands import ids_listed
from outbox import store
from outbox.config import outbox_config
from outbox.errors import NothingMatched, ReplayRefused
from outbox.filters import OutboxFilter, outbox_rows_matching
from outbox.models import OutboxEvent, OutboxRelay, OutboxReplay, OutboxReplayEvent, OutboxState
from outbox.wakeup import wakeup_on_commit
from outbox.writer import outbox_event_reissue

#: Rows updated per replay statement.
REPLAY_CHUNK = 500


#: Heartbeats a relay may miss before ``outbox status`` calls it silent (killed, or cut off from the database).
SILENT_AFTER_BEATS = 3
#: What ``outbox status`` says of each relay.
RELAY_STATES = ("running", "stopped", "silent")


def _relay_state(relay: OutboxRelay, now: datetime) -> str:
    """``stopped`` (it said so as it exited), ``silent`` (no heartbeat for a while) or ``running``."""
    if relay.stopped_at is not None:
        return "stopped"
    silent_after = timedelta(seconds=SILENT_AFTER_BEATS * outbox_config().heartbeat_interval)
    return "silent" if now - relay.last_beat_at > silent_after else "running"


def outbox_status() -> dict[str, Any]:
    """Counts by state and by type, oldest pending age, dead count and the relays' heartbeats."""
    now = timezone.now()
    by_state = store.outbox_rows_by_state()
    by_type: dict[str, dict[str, int]] = {}
    for event_type, state, count in (
        OutboxEvent.objects.order_by().values_list("event_type", "state").annotate(n=Count("id"))
    ):
        by_type.setdefault(event_type, {})[state] = count
    relays = [
        {
            "relay_id": r.relay_id,
            "hostname": r.hostname,
            "pid": r.pid,
            "last_beat_at": r.last_beat_at.isoformat(),
            "last_batch_at": r.last_batch_at.isoformat() if r.last_batch_at else None,
            "published_total": r.published_total,
            "stopped": r.stopped_at is not None,
            "state": _relay_state(r, now),
        }
        for r in OutboxRelay.objects.order_by("-last_beat_at")[:20]
    ]
    return {
        "by_state": by_state,
        "by_type": dict(sorted(by_type.items())),
        "oldest_pending_age_seconds": round(store.outbox_oldest_pending_age(), 3),
        "dead": by_state["dead"],
        "relays": relays,
    }


@dataclass
class ReplayResult:
    """What a replay did (or, dry, would do)."""

    matched: int
    replayed: int
    #: Matched at first, but by the time they were locked a relay held them or they matched no more.
    skipped: int
    dry_run: bool
    new_ids: bool
    sample: list[dict[str, Any]] = field(default_factory=list)
    audit_id: int | None = None


def _sample(rows: list[OutboxEvent]) -> list[dict[str, Any]]:
    return [
        {"event_id": str(r.event_id), "event_type": r.event_type, "state": r.state, "attempts": r.attempts}
        for r in rows[:10]
    ]


def outbox_replay(
    *,
    outbox_filter: OutboxFilter,
    reason: str,
    actor: str,
    source: str,
    new_ids: bool = False,
    dry_run: bool = False,
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Make the matching rows publish again, and record who did it, when, why and which rows.

    Same ids (the default): dead and pending rows become due now with attempts reset; published
    rows are published again; the consumer deduplicates, so this is safe to repeat. ``new_ids``:
    each row is re-issued as a new event (new id, ``replay_of`` the original) for forced
    reprocessing. Rows a relay holds right now are skipped (they are being published). ``rate``
    limits rows per second. Raises ReplayRefused without a reason or a filter, and NothingMatched (with no
    audit record) when an event id asked for does not exist or, unless a dry run, nothing matches.
    """
    if not reason.strip():
        raise ReplayRefused("a replay needs a reason")
    if outbox_filter.empty:
        raise ReplayRefused("a replay needs a filter or event ids; refusing to replay every row")
    if outbox_filter.event_ids:
        found = set(OutboxEvent.objects.filter(event_id__in=outbox_filter.event_ids).values_list("event_id", flat=True))
        missing = tuple(e for e in outbox_filter.event_ids if e not in found)
        if missing:
            raise NothingMatched(f"no outbox row with event id {ids_listed(missing)}", missing=missing)
    matching = outbox_rows_matching(outbox_filter)
    total = matching.count()
    if not total and not dry_run:
        raise NothingMatched("no outbox row matches; nothing replayed")
    if dry_run:
        return ReplayResult(total, 0, 0, dry_run=True, new_ids=new_ids, sample=_sample(list(matching[:10])))
    audit = OutboxReplay.objects.create(
        actor=actor, source=source, reason=reason, filters=outbox_filter.as_dict(), new_ids=new_ids, count=0
    )
    ids = list(matching.values_list("id", flat=True))
    replayed = skipped = 0
    started = time.monotonic()
    for offset in range(0, len(ids), REPLAY_CHUNK):
        chunk = ids[offset : offset + REPLAY_CHUNK]
        done, passed = _replay_chunk(chunk, outbox_filter=outbox_filter, audit=audit, new_ids=new_ids)
        replayed += done
        skipped += passed
        if progress:
            progress(len(chunk))
        if rate:
            # never faster than `rate` rows per second, measured from the start
            time.sleep(max(0.0, (offset + len(chunk)) / rate - (time.monotonic() - started)))
    OutboxReplay.objects.filter(pk=audit.pk).update(count=replayed)
    return ReplayResult(
        total, replayed, skipped, dry_run=False, new_ids=new_ids, sample=_sample(list(matching[:10])), audit_id=audit.pk
    )


def _replay_chunk(
    ids: list[int], *, outbox_filter: OutboxFilter, audit: OutboxReplay, new_ids: bool
) -> tuple[int, int]:
    """Replay the rows of ``ids`` that, locked now, still match the filter and no relay holds.

    New or reset rows are written like every event: due by the database's clock, and the relays
    woken when the chunk commits.
    """
    with transaction.atomic():
        # the filter again, under the row locks: a relay may have published a row since it matched
        locked = outbox_filter.apply(OutboxEvent.objects.select_for_update().filter(id__in=ids))
        rows = list(
            locked.filter(
                Q(leased_until__isnull=True) | Q(leased_until__lt=Now()) | ~Q(state=OutboxState.PENDING)
            ).order_by("id")
        )
        if new_ids:
            links = [
                OutboxReplayEvent(replay=audit, event_id=row.event_id, new_event_id=outbox_event_reissue(original=row))
                for row in rows
            ]
        else:
            OutboxEvent.objects.filter(id__in=[r.id for r in rows]).update(
                state=OutboxState.PENDING,
                attempts=0,
                last_error="",
                next_attempt_at=Now(),
                leased_until=None,
                published_at=None,
            )
            links = [OutboxReplayEvent(replay=audit, event_id=row.event_id) for row in rows]
            if rows:
                wakeup_on_commit(DEFAULT_DB_ALIAS)
        OutboxReplayEvent.objects.bulk_create(links)
    return len(rows), len(ids) - len(rows)


def outbox_purge(*, older_than: timedelta, batch: int, dry_run: bool) -> int:
    """Delete published rows older than ``older_than`` in batches (never pending or dead); dry: count."""
    if dry_run:
        return store.outbox_rows_purgeable(older_than=older_than).count()
    return store.outbox_rows_purge_published(older_than=older_than, batch=batch)
