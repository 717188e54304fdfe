"""Events that waited long enough for an earlier sequence: they take effect anyway, the missing ones become gaps.

``order_sweep`` runs in a thread of every worker process (``notifications.intake.boot``) every fraction of
NOTIFIER_ORDER_WAIT. An aggregate whose cursor an intake holds at that moment is skipped until the
next pass, so the sweep never blocks a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from codegen_contracts import envelope_read
from notifications.config import notifier_config
from notifications.intake.intake_writes import IntakeWrite, take_writes
from notifications.intake.ordering import order_expire
from notifications.intake.plans import intake_plan
from notifications.intake.sequencing import gaps_open
from notifications.models import AggregateCursor, InboxEvent, InboxStatus
from notifications.worker_metrics import lag_observed

#: Aggregates looked at per pass.
SWEEP_AGGREGATES = 200


@dataclass
class Swept:
    """What a pass did: events that took effect, gaps opened, and the deliveries to attempt."""

    released: int = 0
    gaps: int = 0
    delivery_ids: list[int] = field(default_factory=list)


def order_sweep(*, wait: float | None = None) -> Swept:
    """Give every waiting event older than ``wait`` seconds (NOTIFIER_ORDER_WAIT) its effect; record the gaps."""
    wait = notifier_config().order_wait if wait is None else wait
    swept = Swept()
    cutoff = timezone.now() - timedelta(seconds=wait)
    due = (
        InboxEvent.objects.filter(status=InboxStatus.WAITING.value, received_at__lte=cutoff)
        .values_list("aggregate_type", "aggregate_id")
        .distinct()[:SWEEP_AGGREGATES]
    )
    for aggregate in sorted(set(due)):
        _aggregate_sweep(aggregate, cutoff, swept)
    return swept


def _aggregate_sweep(aggregate: tuple[str, str], cutoff: datetime, swept: Swept) -> None:
    kind, key = aggregate
    with transaction.atomic():
        cursor = (
            AggregateCursor.objects.select_for_update(skip_locked=True)
            .filter(aggregate_type=kind, aggregate_id=key)
            .first()
        )
        if cursor is None:  # an intake holds it: next pass
            return
        waiting = InboxEvent.objects.filter(status=InboxStatus.WAITING.value, aggregate_type=kind, aggregate_id=key)
        rows = {row.sequence: row for row in waiting}
        applied = cursor.applied
        writes: list[IntakeWrite] = []
        while any(row.received_at <= cutoff for row in rows.values()):
            decision = order_expire(applied, {seq: row.event_id for seq, row in rows.items()})
            gaps_open(aggregate, decision.gaps)
            swept.gaps += len(decision.gaps)
            released = sorted((r for r in rows.values() if r.event_id in decision.released), key=lambda r: r.sequence)
            writes += [(intake_plan(envelope_read(row.raw), late=row.sequence <= applied), row.id) for row in released]
            rows = {seq: row for seq, row in rows.items() if row.event_id not in decision.released}
            applied = decision.applied
        taken = take_writes(writes, [{"t": kind, "i": key, "applied": applied, "waiting": len(rows)}])
        swept.released += len(writes)
        swept.delivery_ids += [delivery for ids in taken.values() for delivery in ids]
    for plan, _ in writes:  # their effects committed just now
        lag_observed(plan.envelope.occurred_at)
