"""Webhook endpoints' state: what each attempt tells of its receiver, the breaker, disabling and enabling.

An endpoint is one project's webhook URL, made when intake writes the first delivery to it. Failures
in a row open its breaker (``NOTIFIER_WEBHOOK_BREAKER_FAILURES``): from then on it gets one attempt at
a time, and only from a delivery whose scheduled time came after its last failure (a probe, at that
delivery's own scheduled time: the breaker never delays one past its schedule); the deliveries that
were due before the last failure are skipped without a connection attempt and stay due, no attempt
spent. A success closes it and they all go. 410 Gone, or failing without a success for
``NOTIFIER_WEBHOOK_DISABLE_AFTER``, disables it: its pending deliveries fail with the reason (and
intake writes new ones failed), and the project's owner is told in the app and by e-mail (again when
enabled).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta

from django.db import transaction
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


#: What a delivery that its endpoint's disabling ended says, before the endpoint's reason.
ENDED_BY_DISABLING = "endpoint disabled: "

#: An endpoint's key: the project and its webhook URL.
EndpointKey = tuple[int, str]


def endpoints_attach(deliveries: Mapping[EndpointKey, list[int]]) -> None:
    """Give webhook deliveries just written (ids by endpoint key) their endpoints, making those that do not exist
    yet, in the caller's transaction; end those whose endpoint is disabled, with its reason. Endpoints are made
    in key order, so that concurrent intakes never deadlock (``ON CONFLICT DO NOTHING`` waits for one another
    transaction is making)."""
    if not deliveries:
        return
    WebhookEndpoint.objects.bulk_create(
        [WebhookEndpoint(project_id=project_id, url=url) for project_id, url in sorted(deliveries)],
        ignore_conflicts=True,
    )
    found = WebhookEndpoint.objects.filter(
        project_id__in={p for p, _ in deliveries}, url__in={u for _, u in deliveries}
    )
    for endpoint in found:
        ids = deliveries.get((endpoint.project_id, endpoint.url))
        if ids is None:
            continue
        change: dict[str, object] = {"endpoint": endpoint}
        if endpoint.state == EndpointState.DISABLED:
            change |= {"status": DeliveryStatus.FAILED.value, "last_error": ENDED_BY_DISABLING + endpoint.state_reason}
        Delivery.objects.filter(pk__in=ids).update(**change)


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
        ended = _deliveries_end(endpoint, ENDED_BY_DISABLING + reason)
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


def _deliveries_end(endpoint: WebhookEndpoint, reason: str) -> int:
    pending = Delivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.PENDING.value, claimed_until__isnull=True
    )
    return pending.update(status=DeliveryStatus.FAILED.value, last_error=reason[:2000], updated_at=timezone.now())


def _owner_tell(endpoint: WebhookEndpoint, event_type: str, *, subject: str, body: str) -> None:
    """Record the notifier's own notice about ``endpoint`` in its inbox, with an in-app notification for the
    owner and an e-mail to the project's notification address (sent by the delivery workers)."""
    _owner_refresh(endpoint)
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


def _owner_refresh(endpoint: WebhookEndpoint) -> None:
    """Whom to tell about ``endpoint``: the owner and notification address of its project's latest event taken in
    (kept on the endpoint: whom it last told)."""
    latest = (
        Notification.objects.filter(project_id=endpoint.project_id)
        .exclude(event_type__in=(ENDPOINT_DISABLED, ENDPOINT_ENABLED))
        .order_by("-created_at", "-id")
        .values_list("event__raw", flat=True)
        .first()
    )
    payload = (latest or {}).get("payload") or {}
    owner_id, email = payload.get("owner_id"), payload.get("notification_email") or ""
    if owner_id and (endpoint.owner_id, endpoint.notification_email) != (owner_id, email):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(owner_id=owner_id, notification_email=email)
        endpoint.owner_id, endpoint.notification_email = owner_id, email
