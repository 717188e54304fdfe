"""Operators' and owners' actions on deliveries and endpoints: make due again, disable, enable, recover.

Every endpoint action is recorded (``EndpointAction``: who, when, why, what it concerned), dry runs too.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.delivery.endpoints import endpoint_disable, endpoint_enable
from notifications.delivery.wakeup import deliveries_wake
from notifications.models import Delivery, DeliveryStatus, EndpointAction, EndpointState, WebhookEndpoint


def deliveries_make_due(deliveries: QuerySet[Delivery]) -> int:
    """Make ``deliveries`` (failed or pending, not in flight) due now on a fresh schedule, and wake the workers."""
    now = timezone.now()
    with transaction.atomic():
        count = (
            deliveries.filter(claimed_until__isnull=True)
            .exclude(status=DeliveryStatus.DELIVERED.value)
            .update(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, updated_at=now)
        )
        if count:
            deliveries_wake()
    return count


def endpoint_failed_since(endpoint: WebhookEndpoint, since: datetime) -> QuerySet[Delivery]:
    """The endpoint's deliveries that failed at or after ``since``."""
    return Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.FAILED.value, updated_at__gte=since)


def endpoint_act(
    endpoint: WebhookEndpoint, *, action: str, actor: str, reason: str, since: datetime | None = None,
    dry_run: bool = False,
) -> EndpointAction:  # fmt: skip
    """Disable, enable or recover (send again what failed since ``since``) ``endpoint``, and record it.

    Raises ValueError, recording nothing, for what cannot be done: an unknown action, disabling a
    disabled endpoint, enabling an enabled one, recovering without ``since`` or while it is disabled.
    """
    if not reason.strip():
        raise ValueError("reason: say why")
    disabled = endpoint.state == EndpointState.DISABLED
    with transaction.atomic():
        if action == "disable":
            if disabled:
                raise ValueError("the endpoint is disabled already")
            pending = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING.value)
            matched = pending.count() if dry_run else endpoint_disable(endpoint, reason=f"by {actor}: {reason}")
        elif action == "enable":
            if not disabled:
                raise ValueError("the endpoint is enabled already")
            if not dry_run:
                endpoint_enable(endpoint)
            matched = 0
        elif action == "recover":
            if since is None:
                raise ValueError("since: required to recover")
            if disabled:
                raise ValueError("the endpoint is disabled: enable it before recovering its deliveries")
            failed = endpoint_failed_since(endpoint, since)
            matched = failed.count() if dry_run else deliveries_make_due(failed)
        else:
            raise ValueError(f"action: one of disable, enable, recover; got {action!r}")
        return EndpointAction.objects.create(
            endpoint=endpoint, action=action, actor=actor, reason=reason, since=since, dry_run=dry_run, matched=matched
        )
