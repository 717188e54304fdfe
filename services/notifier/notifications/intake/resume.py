"""Taking held events in: parked versions and unknown types, once this notifier knows them.

``inbox_resume`` reads each held inbox row's raw message again with the contracts' reader; a row
that now reads as current gets its notification and delivery rows in the same transaction as its
status change, so however often (and by however many processes) it runs, each event has one effect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from codegen_contracts import ContractError, ReadingOutcome, envelope_read
from notifications.intake.event_plan import IntakePlan, intake_plan
from notifications.intake.inbox import intake_step
from notifications.models import HELD_STATUSES, InboxEvent

logger = logging.getLogger(__name__)

#: Held rows read and written per transaction.
RESUME_BATCH = 200


#: What became of one message replayed or resumed (a dry run says what would have).
TAKEN_IN, HELD, REFUSED = "taken in", "held", "refused"
OUTCOMES = (TAKEN_IN, HELD, REFUSED)


@dataclass
class Resumed:
    """What a resume did: each event's outcome (TAKEN_IN, HELD or REFUSED, with why) and the deliveries to attempt."""

    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    delivery_ids: list[int] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        """How many events had ``outcome``."""
        return sum(1 for kind, _ in self.outcomes.values() if kind == outcome)


def inbox_resume(*, event_ids: Iterable[str] | None = None, dry_run: bool = False) -> Resumed:
    """Take in every held inbox row (or those of ``event_ids``) this notifier can now read.

    Rows locked by another resume are skipped (it takes them in). A row whose message the contracts
    now refuse stays held, its reason saying why. With ``dry_run`` nothing is written.
    """
    resumed = Resumed()
    after = 0
    while True:
        with transaction.atomic():
            rows = InboxEvent.objects.filter(status__in=HELD_STATUSES, id__gt=after).order_by("id")
            if event_ids is not None:
                rows = rows.filter(event_id__in=list(event_ids))
            batch = list(rows.select_for_update(skip_locked=True)[:RESUME_BATCH])
            readable = [taken for row in batch if (taken := _row_read(row, resumed, dry_run=dry_run))]
            if readable and not dry_run:
                resumed.delivery_ids += [d for ids in intake_step(held=readable).taken.values() for d in ids]
                for _row_id, plan in readable:
                    logger.info("held event %s (%s v%s) taken in as %s", plan.envelope.event_id,
                                plan.envelope.event_type, plan.reading.received_version, plan.status)  # fmt: skip
        if len(batch) < RESUME_BATCH:
            return resumed
        after = batch[-1].id


def _row_read(row: InboxEvent, resumed: Resumed, *, dry_run: bool) -> tuple[int, IntakePlan] | None:
    """The held row read again: its plan when this release reads it as current (its outcome recorded)."""
    key = str(row.event_id)
    try:
        reading = envelope_read(row.raw)
    except ContractError as exc:
        resumed.outcomes[key] = (REFUSED, str(exc))
        if not dry_run:
            InboxEvent.objects.filter(pk=row.pk).update(reason=f"refused on resume: {exc}"[:2000])
        return None
    if reading.outcome is not ReadingOutcome.CURRENT:
        resumed.outcomes[key] = (HELD, reading.reason)
        return None
    plan = intake_plan(reading)
    resumed.outcomes[key] = (TAKEN_IN, f"as {plan.status}")
    return row.pk, plan
