"""The one intake step: how every event takes effect, exactly once and in its aggregate's order.

Whatever brings events (a message, a worker's batch, the order-wait sweep, ``inbox_resume``, a poison
replay), ``intake_step`` takes them in one transaction:

1. lock the cursors of the aggregates they touch, in (type, id) order, with their waiting rows;
2. leave out the events the inbox has already (under those locks no other intake can be adding them);
3. decide each aggregate with the one rule, ``ordering`` (ordering off: everything applies now);
4. write: the new inbox rows (waiting ones keep their effects), the released ones, the effects of
   everything that takes effect from their stored form, the gaps late arrivals close or the sweep
   opens, and the cursors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from django.db import transaction

from codegen_contracts import Envelope, EventReading
from codegen_telemetry import log_context
from notifications.config import notifier_config
from notifications.intake.event_plan import Intake, IntakePlan, intake_plan, reading_of
from notifications.intake.intake_writes import (
    Effect,
    cursors_write,
    effects_write,
    gaps_filled,
    inbox_rows_insert,
    inbox_rows_release,
)
from notifications.intake.ordering import APPLY, LATE, WAIT, Arrival, Decision, order_decide, order_expire
from notifications.intake.sequencing import Aggregate, Position, aggregates_lock, gaps_close, gaps_open, inbox_read
from notifications.models import Delivery, DeliveryStatus, InboxStatus

logger = logging.getLogger(__name__)


@dataclass
class Taken:
    """What one step did. ``taken``: each event id that took effect or was recorded now, with its delivery ids
    (an arrival that released waiting events carries theirs too); ``statuses``: the inbox status each was
    given; ``released_occurred_at``: when the events each arrival released occurred. The sweep's releases
    are ``expired`` (when each occurred) with ``expired_delivery_ids``, and ``gaps`` the sequences it gave
    up on."""

    taken: dict[Any, tuple[int, ...]] = field(default_factory=dict)
    statuses: dict[Any, str] = field(default_factory=dict)
    released_occurred_at: dict[Any, tuple[datetime, ...]] = field(default_factory=dict)
    expired: list[datetime] = field(default_factory=list)
    expired_delivery_ids: list[int] = field(default_factory=list)
    gaps: int = 0


#: Who gave a stored row its effect when no arrival did: the sweep (its wait was over), or a resume.
SWEPT, RESUMED = None, "resumed"


@dataclass
class _Writes:
    """What the decisions of a step write, in the order their effects are written (each aggregate's in
    sequence order): new rows (``rows``, by index) and stored ones (``stored``, by id)."""

    rows: list[tuple[IntakePlan, str, dict[str, Any] | None]] = field(default_factory=list)
    #: What takes effect now, in order: ("new", index in rows) or ("stored", inbox id).
    effects: list[tuple[str, int]] = field(default_factory=list)
    #: Stored rows that take effect now: id -> (event id, event type, effects, status, when it occurred).
    stored: dict[int, tuple[Any, str, dict[str, Any], str, datetime]] = field(default_factory=dict)
    #: Stored row id -> the event id of the arrival that released it, SWEPT or RESUMED.
    releaser: dict[int, Any] = field(default_factory=dict)
    moves: dict[Aggregate, tuple[int, int]] = field(default_factory=dict)
    gaps: list[tuple[Aggregate, list[int]]] = field(default_factory=list)

    def new(self, plan: IntakePlan, status: str, kept: dict[str, Any] | None = None) -> None:
        """A new inbox row; its effects written now unless it keeps them (``kept``: it waits)."""
        self.rows.append((plan, status, kept))
        if kept is None:
            self.effects.append(("new", len(self.rows) - 1))

    def stored_now(self, row_id: int, key: Any, event_type: str, kept: dict[str, Any], occurred_at: datetime,
                   releaser: Any) -> None:  # fmt: skip
        """A stored row that takes effect now, with the effects it kept."""
        self.stored[row_id] = (key, event_type, kept, kept["status"], occurred_at)
        self.releaser[row_id] = releaser
        self.effects.append(("stored", row_id))


def intake_step(
    arrivals: Sequence[IntakePlan] = (),
    *,
    held: Sequence[tuple[int, IntakePlan]] = (),
    expire: Sequence[Aggregate] = (),
    expire_before: datetime | None = None,
) -> Taken:
    """Take ``arrivals`` (distinct event ids) in; take in ``held`` rows (id, plan: parked or unknown events this
    release now reads, whose place in their aggregate's order was taken when they arrived); give the waiting
    events of ``expire`` received before ``expire_before`` their effect (the sweep: aggregates another intake
    holds are skipped). One transaction; see the module."""
    with transaction.atomic():
        ordered = notifier_config().ordering
        positions = aggregates_lock([plan.aggregate for plan in arrivals]) if ordered else {}
        if expire:
            positions.update(aggregates_lock(expire, skip_locked=True))
        known = inbox_read([plan.envelope.event_id for plan in arrivals], positions)
        writes = _Writes()
        for row_id, plan in held:
            writes.stored_now(row_id, plan.envelope.event_id, plan.envelope.event_type, plan.effects(),
                              plan.envelope.occurred_at, RESUMED)  # fmt: skip
        fresh = sorted(
            (plan for plan in arrivals if plan.envelope.event_id not in known),
            key=lambda plan: (plan.aggregate, plan.envelope.sequence),
        )
        by_aggregate = {agg: list(group) for agg, group in groupby(fresh, key=lambda plan: plan.aggregate)}
        for aggregate in sorted(set(by_aggregate) | ({*expire} & set(positions))):
            position = positions.get(aggregate, UNORDERED)
            _decide(aggregate, position, by_aggregate.get(aggregate, []), writes, expire_before)
        return _write(writes, positions)


#: Where an aggregate stands with ordering off: nowhere (no cursor is kept).
UNORDERED = Position(cursor_id=0, applied=0, rows={}, seen=(0, 0))


def _decision(position: Position, by_key: dict[Any, IntakePlan]) -> Decision:
    """The one rule (``ordering``) for one aggregate's new arrivals; with ordering off, all apply now."""
    if position is not UNORDERED:
        return order_decide(
            position.applied,
            {seq: row.event_id for seq, row in position.rows.items()},
            [Arrival(key, plan.envelope.sequence) for key, plan in by_key.items()],
        )
    decision = Decision(applied=max([position.applied, *(plan.envelope.sequence for plan in by_key.values())]))
    decision.fates = dict.fromkeys(by_key, APPLY)
    decision.run = list(by_key)
    return decision


def _decide(
    aggregate: Aggregate, position: Position, plans: list[IntakePlan], writes: _Writes, expire_before: datetime | None
) -> None:
    """Decide one aggregate's new arrivals against its cursor, and (the sweep) its expired waits; add the writes."""
    by_key = {plan.envelope.event_id: plan for plan in plans}
    stored = {row.event_id: row for row in position.rows.values()}
    decision = _decision(position, by_key)
    first_applied = next((key for key in decision.run if decision.fates.get(key) == APPLY), None)
    for key in decision.run:
        if key in stored:
            row = stored[key]
            writes.stored_now(row.id, key, row.event_type, row.effects, row.occurred_at, first_applied)
        elif decision.fates[key] == LATE:
            late = intake_plan(by_key[key].reading, late=True)
            writes.new(late, late.status)
        else:
            writes.new(by_key[key], by_key[key].status)
    new_waiting = [key for key, fate in decision.fates.items() if fate == WAIT]
    for key in new_waiting:
        writes.new(by_key[key], InboxStatus.WAITING.value, by_key[key].effects())
    waiting = {seq: row for seq, row in position.rows.items() if row.event_id not in decision.released}
    applied = decision.applied
    while expire_before is not None and any(row.received_at <= expire_before for row in waiting.values()):
        expiry = order_expire(applied, {seq: row.event_id for seq, row in waiting.items()})
        for key in expiry.run:
            row = stored[key]
            writes.stored_now(row.id, key, row.event_type, row.effects, row.occurred_at, SWEPT)
        waiting = {seq: row for seq, row in waiting.items() if row.event_id not in expiry.released}
        applied = expiry.applied
        writes.gaps.append((aggregate, expiry.gaps))
    if position is not UNORDERED:
        writes.moves[aggregate] = (applied, len(waiting) + len(new_waiting))


def _write(writes: _Writes, positions: dict[Aggregate, Position]) -> Taken:
    """Write what the decisions said; what was taken in."""
    taken = Taken()
    inserted = inbox_rows_insert(writes.rows)
    ids = [inserted.get(plan.envelope.event_id) for plan, _, _ in writes.rows]  # None: taken in meanwhile
    inbox_rows_release([(row_id, status) for row_id, (_, _, _, status, _) in writes.stored.items()])
    effects: list[Effect] = []
    for kind, ref in writes.effects:
        if kind == "new":
            plan, inbox_id = writes.rows[ref][0], ids[ref]
            if inbox_id is not None:
                effects.append((inbox_id, plan.envelope.event_type, plan.effects()))
        else:
            _, event_type, kept, _, _ = writes.stored[ref]
            effects.append((ref, event_type, kept))
    delivered = effects_write(effects)
    gaps_close(gaps_filled(writes.rows[ref][0] for kind, ref in writes.effects if kind == "new" and ids[ref]))
    for aggregate, sequences in writes.gaps:
        gaps_open(aggregate, sequences)
        taken.gaps += len(sequences)
    cursors_write(writes.moves, positions)
    for inbox_id, (plan, status, _) in zip(ids, writes.rows, strict=True):
        if inbox_id is None:
            continue
        taken.taken[plan.envelope.event_id] = delivered.get(inbox_id, ())
        taken.statuses[plan.envelope.event_id] = status
    for row_id, (key, _, _, status, occurred_at) in writes.stored.items():
        releaser = writes.releaser[row_id]
        if releaser == RESUMED:
            taken.taken[key] = delivered[row_id]
            taken.statuses[key] = status
        elif releaser is SWEPT:
            taken.expired.append(occurred_at)
            taken.expired_delivery_ids += delivered[row_id]
        else:
            taken.taken[releaser] += delivered[row_id]
            taken.released_occurred_at[releaser] = (*taken.released_occurred_at.get(releaser, ()), occurred_at)
    return taken


def _pending_deliveries(event_ids: list[object]) -> dict[object, tuple[int, ...]]:
    """Deliveries still pending of events taken in before: a redelivery hands them back to be tried."""
    pending: dict[object, list[int]] = {}
    rows = Delivery.objects.filter(event__event_id__in=event_ids, status=DeliveryStatus.PENDING.value)
    for event_id, pk in rows.order_by("pk").values_list("event__event_id", "pk"):
        pending.setdefault(event_id, []).append(pk)
    return {event_id: tuple(ids) for event_id, ids in pending.items()}


def inbox_take_many(readings: Sequence[EventReading | Envelope]) -> list[Intake]:
    """Record ``readings`` in the inbox with their notification and delivery rows, once per event id, in one
    transaction (``intake_step``).

    A held reading (parked, unknown type) is recorded with its reason and raw message and nothing else.
    With NOTIFIER_ORDERING (the default) each aggregate's events take effect in sequence order: one that
    arrives ahead of a missing sequence is recorded as waiting, and takes effect when the missing one
    arrives (its deliveries handed back with the arrival that released it) or when its wait is over
    (``notifications.intake.sweep``); one whose sequence the aggregate has passed takes effect marked late,
    closing the gap it fills. Returns one Intake per reading, in order; an event received before, or
    earlier in the same call, is a duplicate and adds nothing, but a redelivery gets back the deliveries a
    crashed first try left pending. An Envelope stands for its own current reading (``reading_of``).
    """
    firsts: dict[object, IntakePlan] = {}
    plans = []
    for item in readings:
        reading = reading_of(item) if isinstance(item, Envelope) else item
        plan = firsts.get(reading.envelope.event_id)
        if plan is None:
            plan = firsts[reading.envelope.event_id] = intake_plan(reading)
        plans.append(plan)
    result = intake_step(list(firsts.values()))
    redelivered = [p.envelope.event_id for p in firsts.values() if p.envelope.event_id not in result.taken]
    pending = _pending_deliveries(redelivered) if redelivered else {}
    intakes = []
    answered: set[object] = set()
    for plan in plans:
        event_id = plan.envelope.event_id
        if event_id in result.taken and event_id not in answered:
            answered.add(event_id)
            status = result.statuses[event_id]
            _log_outcome(plan, status)
            intakes.append(
                Intake(
                    duplicate=False,
                    status=status,
                    delivery_ids=result.taken[event_id],
                    released_occurred_at=result.released_occurred_at.get(event_id, ()),
                )
            )
        else:
            intakes.append(Intake(duplicate=True, delivery_ids=pending.get(event_id, ())))
    return intakes


def _log_outcome(plan: IntakePlan, status: str) -> None:
    """Say why an event took no effect, on a line with its ids (written by the intake writer's thread)."""
    if status not in (InboxStatus.IGNORED, InboxStatus.PARKED, InboxStatus.UNKNOWN):
        return
    envelope = plan.envelope
    with log_context(
        event_id=str(envelope.event_id), correlation_id=envelope.correlation_id, traceparent=envelope.traceparent
    ):
        if status == InboxStatus.IGNORED:
            logger.info(
                "event %s of type %s has no handler: recorded as ignored", envelope.event_id, envelope.event_type
            )
        else:
            logger.warning("event %s recorded as %s: %s", envelope.event_id, status, plan.reading.reason)


def inbox_take(reading: EventReading | Envelope) -> Intake:
    """Record one reading in the inbox (see inbox_take_many)."""
    return inbox_take_many([reading])[0]
