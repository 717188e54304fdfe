"""Events that waited long enough for an earlier sequence: they take effect anyway, the missing ones become gaps.

``order_sweep`` runs in a thread of every worker process (``notifications.intake.boot``) every fraction of
NOTIFIER_ORDER_WAIT. An aggregate whose cursor an intake holds at that moment is skipped until the
next pass, so the sweep never blocks a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from notifications.config import notifier_config
from notifications.intake.inbox import intake_step
from notifications.models import InboxEvent, InboxStatus
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
    """Give every waiting event older than ``wait`` seconds (NOTIFIER_ORDER_WAIT) its effect; record the gaps.

    One intake step for the aggregates due (at most SWEEP_AGGREGATES): the missing sequences before each
    expired waiting event become gaps, and its run takes effect.
    """
    wait = notifier_config().order_wait if wait is None else wait
    cutoff = timezone.now() - timedelta(seconds=wait)
    due = (
        InboxEvent.objects.filter(status=InboxStatus.WAITING.value, received_at__lte=cutoff)
        .values_list("aggregate_type", "aggregate_id")
        .distinct()[:SWEEP_AGGREGATES]
    )
    aggregates = sorted(set(due))
    if not aggregates:
        return Swept()
    taken = intake_step(expire=aggregates, expire_before=cutoff)
    for occurred_at in taken.expired:  # their effects committed just now
        lag_observed(occurred_at)
    return Swept(released=len(taken.expired), gaps=taken.gaps, delivery_ids=taken.expired_delivery_ids)
