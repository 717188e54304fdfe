"""batch_take: one item waited for, then what else waits, up to a bound; None means stop."""

from __future__ import annotations

import queue

from notifications.intake.batches import batch_take


def filled(*items: object) -> queue.SimpleQueue:
    q: queue.SimpleQueue = queue.SimpleQueue()
    for item in items:
        q.put(item)
    return q


def test_takes_what_waits_up_to_the_bound():
    q = filled(1, 2, 3, 4, 5)
    assert batch_take(q, 3) == ([1, 2, 3], False)
    assert batch_take(q, 3) == ([4, 5], False)


def test_none_stops_after_what_came_before_it():
    assert batch_take(filled(1, 2, None, 3), 10) == ([1, 2], True)
    assert batch_take(filled(None, 1), 10) == ([], True)
