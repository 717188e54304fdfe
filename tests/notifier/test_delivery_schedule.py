"""The retry schedule and Retry-After, as pure functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from codegen_config import duration_seconds, env_durations
from notifications.delivery.schedule import DEFAULT_SCHEDULE, retry_after_seconds, retry_delay

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_default_schedule_outlives_a_day():
    schedule = tuple(duration_seconds(item) for item in DEFAULT_SCHEDULE.split(","))
    assert schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert sum(schedule) > 86400


def test_each_retry_waits_its_step_with_jitter_and_none_after_the_last():
    rng = random.Random(7)
    schedule = (10.0, 100.0)
    waits = [retry_delay(attempts=1, schedule=schedule, jitter=0.1, rng=rng) for _ in range(200)]
    assert all(9.0 <= w <= 11.0 for w in waits) and len(set(waits)) > 100  # spread, within ± 10%
    assert 90.0 <= retry_delay(attempts=2, schedule=schedule, jitter=0.1, rng=rng) <= 110.0
    assert retry_delay(attempts=3, schedule=schedule, jitter=0.1, rng=rng) is None


def test_retry_after_takes_the_place_of_the_step():
    rng = random.Random(1)
    assert retry_delay(attempts=1, schedule=(5.0, 5.0), jitter=0.1, retry_after=42.0, rng=rng) == 42.0
    assert retry_delay(attempts=2, schedule=(5.0, 5.0), jitter=0.1, retry_after=42.0, rng=rng) == 42.0
    assert retry_delay(attempts=3, schedule=(5.0, 5.0), jitter=0.1, retry_after=42.0, rng=rng) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("999999", 3600.0),  # capped
        ("Sat, 05 Dec 2026 12:01:00 GMT", 60.0),
        ("Sat, 05 Dec 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date_capped_and_anything_else_ignored(header, seconds):
    assert retry_after_seconds(header, now=NOW, cap=3600.0) == seconds


@pytest.mark.parametrize("value", ["5", "5x", "-5s", "", "5s,,5m", "1e3s"])
def test_a_malformed_schedule_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("NOTIFIER_WEBHOOK_RETRY_SCHEDULE", value)
    with pytest.raises(ImproperlyConfigured, match="NOTIFIER_WEBHOOK_RETRY_SCHEDULE: "):
        env_durations("NOTIFIER_WEBHOOK_RETRY_SCHEDULE", DEFAULT_SCHEDULE)
