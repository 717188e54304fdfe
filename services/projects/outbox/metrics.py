"""Prometheus metrics of the relay, served on OUTBOX["METRICS_PORT"] when it is not 0."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class RelayMetrics:
    """The relay's metrics, in their own registry (several relays in one test process stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rows = Gauge("outbox_rows", "Outbox rows by state", ["state"], registry=self.registry)
        self.oldest_pending_age = Gauge(
            "outbox_oldest_pending_age_seconds", "Age of the oldest pending row", registry=self.registry
        )
        self.published = Counter("outbox_published", "Events published by this relay", registry=self.registry)
        self.publish_failures = Counter(
            "outbox_publish_failures", "Row publish attempts that failed", registry=self.registry
        )
        self.dead = Counter("outbox_dead", "Rows this relay marked dead", registry=self.registry)
        self.batch_duration = Histogram(
            "outbox_batch_duration_seconds",
            "Claim, publish and settle of one batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

        self.publish_lag = Histogram(
            "outbox_publish_lag_seconds",
            "From a row's commit (its first due time, by the database's clock) to its enqueue, first tries only",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def serve(self, port: int, addr: str) -> None:
        """Serve /metrics on ``addr:port`` in a daemon thread."""
        start_http_server(port, addr=addr, registry=self.registry)
