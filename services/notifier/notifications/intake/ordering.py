"""Per-aggregate order of effects: which arrivals take effect now, which wait, which are late. Pure logic.

Given an aggregate's cursor (every sequence up to ``applied`` has taken effect), the events of it
waiting in the inbox and the events arriving now, ``order_decide`` says:

- the arrivals and waiting events that now form an unbroken run after ``applied`` take effect, in
  sequence order (``APPLY``; a waiting one is *released*);
- an arrival ahead of a missing sequence waits (``WAIT``), for NOTIFIER_ORDER_WAIT at most;
- an arrival whose sequence the aggregate has passed takes effect marked late (``LATE``): it fills
  a gap, or is an operator's re-issue. Notifying it (marked) rather than dropping it is what lets a
  replay close a gap with its effect.

``order_expire`` gives up on the missing sequences before the first waiting event once its wait
is over: they become gaps, and the run from that event on takes effect.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

APPLY, WAIT, LATE = "apply", "wait", "late"


@dataclass(frozen=True)
class Arrival:
    """An event of one aggregate arriving now: its key (event id) and sequence."""

    key: Hashable
    sequence: int


@dataclass
class Decision:
    """What one aggregate's arrivals do: each arrival's fate, the waiting events released, the new cursor, the gaps."""

    applied: int
    fates: dict[Hashable, str] = field(default_factory=dict)
    #: Waiting events (keys) that take effect now, in sequence order.
    released: list[Hashable] = field(default_factory=list)
    #: Everything that takes effect now (arrivals and released), in sequence order.
    run: list[Hashable] = field(default_factory=list)
    #: Sequences given up on (``order_expire`` only).
    gaps: list[int] = field(default_factory=list)


def order_decide(applied: int, waiting: Mapping[int, Hashable], arrivals: Sequence[Arrival]) -> Decision:
    """Decide one aggregate's arrivals against its cursor ``applied`` and its ``waiting`` events (sequence → key).

    An arrival that is one of the waiting events (a redelivery) is treated as that event. Two
    arrivals of one sequence: the first takes the place, the other is late.
    """
    decision = Decision(applied=applied)
    pending: dict[int, Hashable] = dict(waiting)
    waiting_keys = set(waiting.values())
    for arrival in sorted(arrivals, key=lambda a: a.sequence):
        if arrival.key in waiting_keys:
            decision.fates[arrival.key] = WAIT
        elif arrival.sequence <= applied or arrival.sequence in pending:
            decision.fates[arrival.key] = LATE
        else:
            pending[arrival.sequence] = arrival.key
            decision.fates[arrival.key] = WAIT
    _run_from(decision, pending, waiting_keys)
    return decision


def order_expire(applied: int, waiting: Mapping[int, Hashable]) -> Decision:
    """Give up on the sequences missing before the first waiting event; that event's run takes effect."""
    decision = Decision(applied=applied)
    if not waiting:
        return decision
    pending = dict(waiting)
    passed = [pending.pop(s) for s in sorted(s for s in waiting if s <= applied)]  # should not be: late, first
    if pending:
        first = min(pending)
        decision.gaps = list(range(applied + 1, first))
        decision.applied = first - 1
        _run_from(decision, pending, set(waiting.values()))
    decision.released = passed + decision.released
    decision.run = passed + decision.run
    return decision


def _run_from(decision: Decision, pending: dict[int, Hashable], waiting_keys: set[Hashable]) -> None:
    """Take the unbroken run after ``decision.applied`` out of ``pending``: it takes effect now.

    Late arrivals come first in ``run``: their aggregate has moved on already.
    """
    decision.run = [key for key, fate in decision.fates.items() if fate == LATE]
    while decision.applied + 1 in pending:
        decision.applied += 1
        key = pending.pop(decision.applied)
        decision.run.append(key)
        if key in waiting_keys:
            decision.released.append(key)
        else:
            decision.fates[key] = APPLY
