"""Prometheus metrics of the notifier's state, read from its database at each scrape (``/metrics`` of its API).

Counts that any API replica can answer alike: open sequence gaps, held messages, waiting events, deliveries
due and webhook endpoints by state.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifications.delivery.selectors import deliveries_due_by_channel, endpoints_by_state
from notifications.intake.sequencing import gaps_open_list
from notifications.models import InboxEvent, InboxStatus, PoisonMessage


class NotifierStateCollector(Collector):
    """Gauges of the notifier's tables, computed when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gaps = gaps_open_list()
        missing = GaugeMetricFamily(
            "notifier_sequence_gaps_open", "Sequences missing in an aggregate's order (open gaps)"
        )
        missing.add_metric([], sum(len(gap.missing) for gap in gaps))
        yield missing
        alerting = GaugeMetricFamily(
            "notifier_sequence_gap_aggregates_alerting",
            "Aggregates with a gap open longer than NOTIFIER_GAP_ALERT_AFTER",
        )
        alerting.add_metric([], sum(gap.alerting for gap in gaps))
        yield alerting
        held = GaugeMetricFamily("notifier_held_messages", "Messages held without effect, by kind", labels=["kind"])
        by_status = dict(
            InboxEvent.objects.filter(
                status__in=[InboxStatus.PARKED.value, InboxStatus.UNKNOWN.value, InboxStatus.WAITING.value]
            )
            .values_list("status")
            .annotate(n=Count("id"))
        )
        for kind in (InboxStatus.PARKED.value, InboxStatus.UNKNOWN.value, InboxStatus.WAITING.value):
            held.add_metric([kind], by_status.get(kind, 0))
        held.add_metric(["poison"], PoisonMessage.objects.filter(resolved_at__isnull=True).count())
        yield held
        yield from deliveries_state_metrics()


def deliveries_state_metrics() -> Iterator[GaugeMetricFamily]:
    """Deliveries due by channel, how long the oldest has been due, and webhook endpoints by state."""
    due = GaugeMetricFamily(
        "notifier_deliveries_due", "Deliveries due and not yet sent, by channel", labels=["channel"]
    )
    oldest = GaugeMetricFamily(
        "notifier_delivery_oldest_due_seconds",
        "How long the delivery due longest has been due (0 when none is), by channel",
        labels=["channel"],
    )
    for channel, (count, age) in deliveries_due_by_channel().items():
        due.add_metric([channel], count)
        oldest.add_metric([channel], age)
    yield due
    yield oldest
    endpoints = GaugeMetricFamily(
        "notifier_webhook_endpoints",
        "Webhook endpoints by state: healthy, failing (since their last success), open (breaker), disabled",
        labels=["state"],
    )
    for state, count in endpoints_by_state().items():
        endpoints.add_metric([state], count)
    yield endpoints


_registry = CollectorRegistry(auto_describe=False)
_registry.register(NotifierStateCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of the notifier's state, then of this API's requests (django-prometheus's,
    summed over gunicorn's workers when PROMETHEUS_MULTIPROC_DIR is set)."""
    requests = ExportToDjangoView(request).content
    return HttpResponse(generate_latest(_registry) + requests, content_type=CONTENT_TYPE_LATEST)
