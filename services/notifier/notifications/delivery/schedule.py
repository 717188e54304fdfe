"""When a delivery is tried again: the retry schedule with jitter, and a receiver's Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The default retry schedule: the waits after the first attempt, then after each retry (about 28 h in all).
DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"


def retry_delay(
    *, attempts: int, schedule: tuple[float, ...], jitter: float, retry_after: float | None = None, rng: random.Random
) -> float | None:
    """Seconds until the next attempt of a delivery tried ``attempts`` times; None when the schedule is spent.

    The wait is the schedule's ``attempts``-th, spread by up to ± ``jitter`` (a fraction) so that
    deliveries that failed together are not tried again together; a receiver's ``retry_after`` takes
    its place (it asked for that wait; it still uses up a step of the schedule).
    """
    if attempts < 1 or attempts > len(schedule):
        return None
    if retry_after is not None:
        return retry_after
    wait = schedule[attempts - 1]
    return max(0.0, wait * (1 + rng.uniform(-jitter, jitter)))


def retry_after_seconds(value: str | None, *, now: datetime, cap: float) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from ``now``, at most ``cap``;
    None when it is absent or malformed (the schedule then decides)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), cap)
