"""Durations as operators write them: a number and a unit (s, m, h or d), e.g. ``90s``, ``10m``, ``1.5h``, ``7d``."""

from __future__ import annotations

import os
import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

#: A duration: a number and a unit (s, m, h or d).
DURATION_PATTERN = r"^([0-9]{1,30})(\.[0-9]{1,9})?([smhd])$"
_DURATION = re.compile(DURATION_PATTERN)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest age an operator's filter takes (a century): beyond it nothing can match and date arithmetic overflows.
LONGEST_AGE = timedelta(days=36_525)


def duration_seconds(value: str) -> float:
    """``"90s"``, ``"10m"``, ``"1.5h"``, ``"7d"`` in seconds; ValueError saying what was expected otherwise."""
    match = _DURATION.fullmatch(value)
    if not match:
        raise ValueError(f"expected a number and a unit (s, m, h or d), e.g. 10m; got {value!r}")
    return float(match[1] + (match[2] or "")) * _UNITS[match[3]]


def age_seconds(value: str) -> float:
    """An age for a filter (``duration_seconds``), at most LONGEST_AGE; ValueError saying why otherwise."""
    seconds = duration_seconds(value)
    if seconds > LONGEST_AGE.total_seconds():
        raise ValueError(f"at most {LONGEST_AGE.days} days; got {value!r}")
    return seconds


def duration_text(seconds: float) -> str:
    """``seconds`` as operators write it, in its largest whole unit or two: ``90s`` → ``1m30s``, ``7d``."""
    left = round(seconds)
    if left < 60:
        return f"{seconds:g}s" if seconds < 1 else f"{left}s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size and len(parts) < 2:
            parts.append(f"{left // size}{unit}")
            left %= size
        elif parts:
            break
    return "".join(parts)


def env_duration(name: str, default: str) -> float:
    """The variable ``name`` as a duration in seconds (``default`` is written the same way)."""
    raw = os.environ.get(name, default)
    try:
        return duration_seconds(raw.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def env_durations(name: str, default: str) -> tuple[float, ...]:
    """The variable ``name`` as a comma-separated list of durations, in seconds (at least one)."""
    raw = os.environ.get(name, default)
    items = [item.strip() for item in raw.split(",")]  # "5s, 5m" reads as "5s,5m"
    try:
        seconds = tuple(duration_seconds(item) for item in items)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None
    if not seconds:
        raise ImproperlyConfigured(f"{name}: at least one duration is needed")
    return seconds
