"""Reads of the delivery side for metrics, the API and the admin."""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.config import notifier_config
from notifications.delivery.channels import CHANNELS
from notifications.models import Delivery, DeliveryStatus, EndpointState, WebhookEndpoint

#: The states ``endpoints_by_state`` reports.
ENDPOINT_STATES = ("healthy", "failing", "open", "disabled")


def deliveries_due_by_channel() -> dict[str, tuple[int, float]]:
    """Per external channel: deliveries due now, and how many seconds the oldest of them has been due."""
    now = timezone.now()
    rows = {
        channel: (count, oldest)
        for channel, count, oldest in Delivery.objects.filter(
            status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now
        )
        .values_list("channel")
        .annotate(n=Count("id"), oldest=Min("next_attempt_at"))
        .order_by()
    }
    return {
        channel: (rows[channel][0], (now - rows[channel][1]).total_seconds()) if channel in rows else (0, 0.0)
        for channel in CHANNELS
    }


def endpoints_by_state() -> dict[str, int]:
    """Webhook endpoints by state: healthy, failing (failures since the last success), open (breaker), disabled."""
    breaker = notifier_config().breaker_failures
    enabled = Q(state=EndpointState.ENABLED.value)
    counts = WebhookEndpoint.objects.aggregate(
        healthy=Count("id", filter=enabled & Q(consecutive_failures=0)),
        failing=Count("id", filter=enabled & Q(consecutive_failures__gt=0, consecutive_failures__lt=breaker)),
        open=Count("id", filter=enabled & Q(consecutive_failures__gte=breaker)),
        disabled=Count("id", filter=Q(state=EndpointState.DISABLED.value)),
    )
    return {state: counts[state] for state in ENDPOINT_STATES}
