"""Webhook endpoints' state: what each attempt tells of its receiver, the breaker, disabling and enabling.

An endpoint is one project's webhook URL. Failures in a row open its breaker
(``NOTIFIER_WEBHOOK_BREAKER_FAILURES``): from then on it gets one attempt at a time, and only from a
delivery whose scheduled time came after its last failure (a probe, at that delivery's own
scheduled time: the breaker never delays one past its schedule); the deliveries that were due
before the last failure are skipped without a connection attempt and stay due, no attempt spent.
A success closes it and they all go. 410 Gone, or failing
without a success for ``NOTIFIER_WEBHOOK_DISABLE_AFTER``, disables it: its pending deliveries fail
with the reason, and the project's owner is told in the app and by e-mail (again when enabled).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications.config import notifier_config
from notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    EndpointState,
    InboxEvent,
    InboxStatus,
    Notification,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

#: The event types of the notifier's own notices about an endpoint (recorded in its inbox, never published).
ENDPOINT_DISABLED = "webhook_endpoint.disabled"
ENDPOINT_ENABLED = "webhook_endpoint.enabled"


#: New webhook deliveries given their endpoint in one round.
ASSIGN_BATCH = 500


def endpoints_assign(*, limit: int = ASSIGN_BATCH) -> int:
    """Give each new webhook delivery its endpoint (made on first sight); one to a disabled endpoint fails
    at once with the endpoint's reason. Returns how many were assigned."""
    rows = list(
        Delivery.objects.filter(channel=Channel.WEBHOOK.value, endpoint__isnull=True, status=DeliveryStatus.PENDING)
        .values_list("id", "target", "event__raw")
        .order_by("id")[:limit]
    )
    if not rows:
        return 0
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    payloads: dict[tuple[int, str], dict[str, Any]] = {}
    for delivery_id, url, raw in rows:
        payload = (raw or {}).get("payload") or {}
        key = (int(payload.get("project_id") or 0), url)
        groups[key].append(delivery_id)
        payloads[key] = payload  # the latest event's owner
    known = {
        (e.project_id, e.url): e
        for e in WebhookEndpoint.objects.filter(project_id__in={p for p, _ in groups}, url__in={u for _, u in groups})
    }
    for key, ids in groups.items():
        endpoint = known.get(key) or _endpoint_for(*key, payloads[key])
        _owner_keep(endpoint, payloads[key])
        Delivery.objects.filter(pk__in=ids, endpoint__isnull=True).update(endpoint=endpoint)
        if endpoint.state == EndpointState.DISABLED:
            _deliveries_end(endpoint, f"endpoint disabled: {endpoint.state_reason}", ids=ids)
    return len(rows)


def _endpoint_for(project_id: int, url: str, payload: dict[str, Any]) -> WebhookEndpoint:
    owner = {"owner_id": payload.get("owner_id"), "notification_email": payload.get("notification_email") or ""}
    try:
        endpoint, _ = WebhookEndpoint.objects.get_or_create(project_id=project_id, url=url, defaults=owner)
    except IntegrityError:  # another worker made it first
        return WebhookEndpoint.objects.get(project_id=project_id, url=url)
    return endpoint


def _owner_keep(endpoint: WebhookEndpoint, payload: dict[str, Any]) -> None:
    """Remember whom to tell about the endpoint: the owner and address of its project's latest event."""
    owner_id, email = payload.get("owner_id"), payload.get("notification_email") or ""
    if owner_id and (endpoint.owner_id, endpoint.notification_email) != (owner_id, email):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(owner_id=owner_id, notification_email=email)
        endpoint.owner_id, endpoint.notification_email = owner_id, email


def endpoints_attempts_record(
    successes: Mapping[int, int], failures: Mapping[int, int], *, gone: set[int]
) -> dict[int, str]:
    """Update the endpoints after a batch of attempts (inside its transaction): a success clears an endpoint's
    failures; failures count towards its breaker and, past NOTIFIER_WEBHOOK_DISABLE_AFTER without a success,
    towards disabling it. Returns the endpoints to disable, with why (``gone``: they answered 410)."""
    now = timezone.now()
    if successes:
        WebhookEndpoint.objects.filter(pk__in=list(successes)).update(
            consecutive_failures=0, failing_since=None, last_success_at=now
        )
    disable = dict.fromkeys(gone, "the receiver answered 410 Gone")
    failing = sorted(set(failures) - set(successes))
    if not failing:
        return disable
    longest = timedelta(seconds=notifier_config().disable_after)
    for endpoint in WebhookEndpoint.objects.select_for_update().filter(pk__in=failing).order_by("pk"):
        endpoint.consecutive_failures += failures[endpoint.pk]
        endpoint.failing_since = endpoint.failing_since or now
        endpoint.last_failure_at = now
        endpoint.save(update_fields=["consecutive_failures", "failing_since", "last_failure_at"])
        if now - endpoint.failing_since >= longest and endpoint.pk not in disable:
            since = endpoint.failing_since.isoformat(timespec="seconds")
            disable[endpoint.pk] = f"failing without a success since {since} ({endpoint.consecutive_failures} attempts)"
    return disable


def endpoint_disable(endpoint: WebhookEndpoint, *, reason: str) -> int:
    """Disable ``endpoint``: end its pending deliveries with the reason and tell the project's owner.
    Returns how many deliveries ended (0 and nothing else done when it was disabled already)."""
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, state=EndpointState.ENABLED.value).update(
            state=EndpointState.DISABLED.value, state_reason=reason, state_changed_at=timezone.now()
        )
        if not changed:
            return 0
        ended = _deliveries_end(endpoint, f"endpoint disabled: {reason}")
        _owner_tell(
            endpoint,
            ENDPOINT_DISABLED,
            subject=f"Webhooks to {endpoint.url} disabled",
            body=f"Webhooks of project {endpoint.project_id} to {endpoint.url} are disabled: {reason}. "
            f"{ended} pending deliveries ended. Enable the endpoint again once it works, then recover what failed.",
        )
    logger.warning(
        "webhook endpoint disabled",
        extra={"endpoint_id": endpoint.pk, "url": endpoint.url, "reason": reason, "deliveries_ended": ended},
    )
    return ended


def endpoint_enable(endpoint: WebhookEndpoint) -> bool:
    """Enable ``endpoint`` again with a clean record, and tell the owner; False when it was enabled."""
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, state=EndpointState.DISABLED.value).update(
            state=EndpointState.ENABLED.value, state_reason="", state_changed_at=timezone.now(),
            consecutive_failures=0, failing_since=None,
        )  # fmt: skip
        if changed:
            _owner_tell(
                endpoint,
                ENDPOINT_ENABLED,
                subject=f"Webhooks to {endpoint.url} enabled",
                body=f"Webhooks of project {endpoint.project_id} to {endpoint.url} are enabled again.",
            )
    return bool(changed)


def _deliveries_end(endpoint: WebhookEndpoint, reason: str, *, ids: list[int] | None = None) -> int:
    pending = Delivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.PENDING.value, claimed_until__isnull=True
    )
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    return pending.update(status=DeliveryStatus.FAILED.value, last_error=reason[:2000], updated_at=timezone.now())


def _owner_tell(endpoint: WebhookEndpoint, event_type: str, *, subject: str, body: str) -> None:
    """Record the notifier's own notice about ``endpoint`` in its inbox, with an in-app notification for the
    owner and an e-mail to the project's notification address (sent by the delivery workers)."""
    now = timezone.now()
    changes = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    changes.update(state_changes=F("state_changes") + 1)
    sequence = changes.values_list("state_changes", flat=True).get()
    event = InboxEvent.objects.create(
        event_id=uuid.uuid4(), event_type=event_type, aggregate_type="webhook_endpoint",
        aggregate_id=str(endpoint.pk), sequence=sequence, occurred_at=now, status=InboxStatus.PROCESSED.value,
        raw={"project_id": endpoint.project_id, "url": endpoint.url, "subject": subject},
    )  # fmt: skip
    Notification.objects.create(
        event=event, event_type=event_type, project_id=endpoint.project_id,
        recipient=f"user:{endpoint.owner_id}" if endpoint.owner_id else f"project:{endpoint.project_id}",
        channel=Channel.IN_APP.value, subject=subject[:255], body=body,
    )  # fmt: skip
    if endpoint.notification_email:
        Delivery.objects.create(
            event=event,
            channel=Channel.EMAIL.value,
            target=endpoint.notification_email,
            subject=subject[:255],
            body=body,
        )
