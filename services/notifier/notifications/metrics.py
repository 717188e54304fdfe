"""Prometheus metrics of the notifier's state, read from its database at each scrape (``/metrics`` of its API).

Counts that any API replica can answer alike: open sequence gaps, held messages, waiting events.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifications.models import InboxEvent, InboxStatus, PoisonMessage
from notifications.sequencing import gaps_open_list


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


_registry = CollectorRegistry(auto_describe=False)
_registry.register(NotifierStateCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of the notifier's state, then of this API's requests (django-prometheus's,
    summed over gunicorn's workers when PROMETHEUS_MULTIPROC_DIR is set)."""
    requests = ExportToDjangoView(request).content
    return HttpResponse(generate_latest(_registry) + requests, content_type=CONTENT_TYPE_LATEST)
