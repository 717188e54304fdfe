"""Taking events in, exactly once and in each aggregate's order: each inbox row and everything its event
creates, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from django.db import connection, transaction

from codegen_contracts import Envelope, EventReading, envelope_read
from codegen_telemetry import log_context
from notifications.config import notifier_config
from notifications.intake.intake_writes import CursorMove, IntakeWrite, orm_writes, pg_writes, pg_writes_checked
from notifications.intake.order_statement import order_take_statement
from notifications.intake.ordering import APPLY, LATE, WAIT, Arrival, order_decide, order_in_run
from notifications.intake.plans import Intake, IntakePlan, Taken, intake_plan, reading_of
from notifications.intake.sequencing import Position, aggregates_lock, aggregates_read
from notifications.models import Delivery, DeliveryStatus, InboxStatus

logger = logging.getLogger(__name__)


def _pending_deliveries(event_ids: list[object]) -> dict[object, tuple[int, ...]]:
    """Deliveries still pending of events taken in before: a redelivery hands them back to be tried."""
    pending: dict[object, list[int]] = {}
    rows = Delivery.objects.filter(event__event_id__in=event_ids, status=DeliveryStatus.PENDING.value)
    for event_id, pk in rows.order_by("pk").values_list("event__event_id", "pk"):
        pending.setdefault(event_id, []).append(pk)
    return {event_id: tuple(ids) for event_id, ids in pending.items()}


def inbox_take_many(
    readings: Sequence[EventReading | Envelope], *, single_statement: bool | None = None
) -> list[Intake]:
    """Record ``readings`` in the inbox with their notification and delivery rows, once per event id.

    A held reading (parked, unknown type) is recorded with its reason and raw message and nothing
    else. With NOTIFIER_ORDERING (the default) each aggregate's events take effect in sequence
    order: one that arrives ahead of a missing sequence is recorded as waiting, and takes effect
    when the missing one arrives (in the same transaction, released deliveries handed back with
    the arrival that released them) or when its wait is over (``notifications.intake.sweep``); one whose
    sequence the aggregate has passed takes effect marked late, closing the gap it fills.

    An event's inbox row and everything it causes commit together: on PostgreSQL in one autocommit
    statement per batch (with ordering, ``order_statement`` for the plain cases and, for the rest, a
    read and a checked write, see ``_ordered_take``), elsewhere or with ``single_statement=False``
    in one ORM transaction. Returns one Intake per reading, in order (an arrival that released
    waiting events says when they occurred); an event received before, or earlier in the same
    call, is a duplicate and adds nothing, but a redelivery gets back the deliveries a crashed
    first try left pending. An Envelope stands for its own current reading (``reading_of``).
    """
    if single_statement is None:
        single_statement = connection.vendor == "postgresql"
    firsts: dict[object, IntakePlan] = {}
    plans = []
    for item in readings:
        reading = reading_of(item) if isinstance(item, Envelope) else item
        plan = firsts.get(reading.envelope.event_id)
        if plan is None:
            plan = firsts[reading.envelope.event_id] = intake_plan(reading)
        plans.append(plan)
    # In (aggregate, sequence) order: effects are written in that order, and two batches sharing events
    # meet on their aggregates' cursors (or, without ordering, their inbox keys) in the same order.
    ordered = sorted(firsts.values(), key=lambda p: (p.aggregate, p.envelope.sequence, str(p.envelope.event_id)))
    if notifier_config().ordering:
        result = _ordered_take(ordered, single_statement=single_statement)
    else:
        writes = [(plan, None) for plan in ordered]
        result = Taken(
            taken=pg_writes(writes) if single_statement else orm_writes(writes),
            statuses={plan.envelope.event_id: plan.status for plan in ordered},
        )
    taken, statuses, released_occurred_at = result.taken, result.statuses, result.released_occurred_at
    redelivered = [p.envelope.event_id for p in ordered if p.envelope.event_id not in taken and p.deliveries]
    pending = _pending_deliveries(redelivered) if redelivered else {}
    intakes = []
    answered: set[object] = set()
    for plan in plans:
        event_id = plan.envelope.event_id
        if event_id in taken and event_id not in answered:
            answered.add(event_id)
            status = statuses[event_id]
            _log_outcome(plan, status)
            intakes.append(
                Intake(
                    duplicate=False,
                    status=status,
                    delivery_ids=taken[event_id],
                    released_occurred_at=released_occurred_at.get(event_id, ()),
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


#: Times intake reads and writes an aggregate whose cursor another intake keeps moving first, before it
#: locks the cursor instead.
_CHECKED_TRIES = 3


@dataclass
class _Order:
    """What a batch writes, decided on its aggregates' positions: rows and cursor moves, and which arrival
    hands back each released event's deliveries (and when it occurred)."""

    writes: list[IntakeWrite] = field(default_factory=list)
    cursors: list[CursorMove] = field(default_factory=list)
    releaser: dict[object, object] = field(default_factory=dict)

    def settle(self, taken: dict[object, tuple[int, ...]], into: Taken, lost: Collection[object] = ()) -> None:
        """Add what ``taken`` (the event ids these writes wrote, with their delivery ids) did to ``into``, leaving out
        the aggregates in ``lost`` (their cursors moved meanwhile): each released event's delivery ids, and when it
        occurred, go to the arrival that released it."""
        released = {plan.envelope.event_id: plan for plan, row_id in self.writes if row_id is not None}
        for key, arrival in self.releaser.items():
            if key not in taken:
                continue  # not written: the cursor moved meanwhile
            released_ids = taken.pop(key)
            if arrival in taken:
                taken[arrival] += released_ids
                occurred_at = released[key].envelope.occurred_at
                into.released_occurred_at[arrival] = (*into.released_occurred_at.get(arrival, ()), occurred_at)
        into.taken.update(taken)
        into.statuses.update(
            (plan.envelope.event_id, plan.status) for plan, _ in self.writes if plan.aggregate not in lost
        )


def _ordered_take(plans: Sequence[IntakePlan], *, single_statement: bool) -> Taken:
    """Take ``plans`` (in aggregate and sequence order) in, each aggregate's in sequence order; see inbox_take_many.

    On PostgreSQL one statement decides and writes the plain cases (``order_statement``); the rest
    take two and no transaction: read the aggregates' positions, then write with checked cursor
    moves (``pg_writes_checked``). An aggregate whose cursor another intake moved in between is
    read and decided again, and after ``_CHECKED_TRIES`` locked instead. Returns what was taken in
    (``Taken``): the new event ids with their delivery ids (an arrival that released waiting events
    carries their deliveries too), the inbox status each was written with, and when the events each
    arrival released occurred.
    """
    result = Taken()
    pending = list(plans)
    if single_statement:
        result = order_take_statement(pending)
        pending = result.undecided
    for _ in range(_CHECKED_TRIES if single_statement else 0):
        if not pending:
            break
        positions, known = aggregates_read((p.aggregate for p in pending), (p.envelope.event_id for p in pending))
        pending = [plan for plan in pending if plan.envelope.event_id not in known]  # received before: duplicates
        order = _order(pending, positions)
        taken, moved = pg_writes_checked(order.writes, order.cursors) if order.writes else ({}, set())
        lost = {(move["t"], move["i"]) for move in order.cursors} - moved
        order.settle(taken, result, lost)
        pending = [plan for plan in pending if plan.aggregate in lost]
    if pending:
        with transaction.atomic():
            order = _order(pending, aggregates_lock(plan.aggregate for plan in pending))
            taken = (pg_writes if single_statement else orm_writes)(order.writes, order.cursors)
        order.settle(taken, result)
    return result


def _order(plans: Sequence[IntakePlan], positions: dict[tuple[str, str], Position]) -> _Order:
    """What ``plans`` write, given their aggregates' ``positions``: each aggregate's arrivals and released
    waiting events in sequence order, and the cursor moves (checked against ``Position.seen``)."""
    order = _Order()
    for aggregate, group in groupby(plans, key=lambda plan: plan.aggregate):
        members = list(group)
        position = positions[aggregate]
        move = {"t": aggregate[0], "i": aggregate[1], "seen": position.seen}
        if not position.rows and order_in_run(position.applied, [plan.envelope.sequence for plan in members]):
            # the common case, decided without the general rules: the next sequences, nothing waiting
            order.writes += [(plan, None) for plan in members]
            order.cursors.append({**move, "applied": position.applied + len(members), "waiting": 0})
            continue
        by_key = {plan.envelope.event_id: plan for plan in members}
        stored = {row.event_id: row for row in position.rows.values()}
        decision = order_decide(
            position.applied,
            {seq: row.event_id for seq, row in position.rows.items()},
            [Arrival(key, plan.envelope.sequence) for key, plan in by_key.items()],
        )
        waits = [key for key, fate in decision.fates.items() if fate == WAIT and key not in stored]
        order.writes += [(by_key[key].waiting(), None) for key in waits]
        first_applied = next((key for key in decision.run if decision.fates.get(key) == APPLY), None)
        for key in decision.run:
            if key in stored:
                row = stored[key]
                order.writes.append((intake_plan(envelope_read(row.raw)), row.id))
                order.releaser[key] = first_applied
            elif decision.fates[key] == LATE:
                order.writes.append((intake_plan(by_key[key].reading, late=True), None))
            else:
                order.writes.append((by_key[key], None))
        waiting = len(position.rows) - len(decision.released) + len(waits)
        if (decision.applied, waiting) != (position.applied, len(position.rows)) or position.seen is None:
            order.cursors.append({**move, "applied": decision.applied, "waiting": waiting})
    return order


def inbox_take(reading: EventReading | Envelope, *, single_statement: bool | None = None) -> Intake:
    """Record one reading in the inbox (see inbox_take_many)."""
    return inbox_take_many([reading], single_statement=single_statement)[0]
