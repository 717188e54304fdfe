"""Prometheus metrics of the delivery workers (served by ``deliveries_run --metrics-port``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ATTEMPTS = Counter(
    "notifier_delivery_attempt_outcomes", "Delivery attempts, by channel and verdict", ["channel", "verdict"]
)
DELIVERIES = Counter("notifier_deliveries", "Deliveries settled, by channel and outcome", ["channel", "outcome"])
DELIVERY_ATTEMPTS = Histogram(
    "notifier_delivery_attempts",
    "Attempts one delivery took before it settled",
    ["channel"],
    buckets=(1, 2, 3, 4, 6, 8, 12),
)


def attempt_counted(channel: str, verdict: str) -> None:
    """Count one attempt and how it went."""
    ATTEMPTS.labels(channel, verdict).inc()


def delivery_settled(channel: str, outcome: str, *, attempts: int) -> None:
    """Count a delivery that settled (delivered or failed) after ``attempts`` attempts."""
    DELIVERIES.labels(channel, outcome).inc()
    DELIVERY_ATTEMPTS.labels(channel).observe(attempts)
