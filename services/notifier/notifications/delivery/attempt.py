"""One attempt at one claimed delivery: send it on its channel, put the attempt on record, settle or reschedule."""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from opentelemetry.trace import SpanKind

from codegen_telemetry import log_context, span
from notifications.db import on_fresh_connection
from notifications.delivery import channels
from notifications.delivery.endpoints import endpoint_attempt_record, endpoint_disable
from notifications.delivery.metrics import attempt_counted, delivery_settled
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.delivery.schedule import retry_delay
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, EndpointState, WebhookEndpoint

logger = logging.getLogger(__name__)

#: How far each retry's wait is spread, as a fraction of it (± 10%).
RETRY_JITTER = 0.1

_rng = random.Random()


def delivery_attempt(delivery_id: int) -> Delivery:
    """Make one attempt at the delivery this worker claimed, and record it; the delivery as it is after.

    A defect in a sender is an attempt that failed with the reason (retried on the schedule), never an
    exception out of the worker and never a claim left behind. Each attempt is a span in its event's
    trace; log lines carry the event's ids.
    """
    delivery = on_fresh_connection(
        lambda: (
            Delivery.objects.select_related("event", "endpoint")
            .defer("event__raw", "event__effects")
            .get(pk=delivery_id)
        )
    )
    event = delivery.event
    with log_context(event_id=str(event.event_id), correlation_id=event.correlation_id, traceparent=event.traceparent):
        started, clock = timezone.now(), time.monotonic()
        with span(
            f"deliver {delivery.channel}",
            traceparent=event.traceparent,
            follow=True,
            kind=SpanKind.CLIENT,
            attributes={"notifier.delivery.id": delivery.pk, "notifier.delivery.channel": delivery.channel,
                        "try": delivery.attempts},
        ):  # fmt: skip
            try:
                result = channels.SENDERS[delivery.channel](delivery)
            except Exception as exc:
                logger.exception("delivery %s (%s): the sender failed", delivery.pk, delivery.channel)
                result = SendResult(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}"[:2000])
        duration_ms = int((time.monotonic() - clock) * 1000)
        disable = on_fresh_connection(lambda: _record(delivery, result, started=started, duration_ms=duration_ms))
        if disable and delivery.endpoint is not None:
            on_fresh_connection(lambda: endpoint_disable(delivery.endpoint, reason=disable))
        attempt_counted(delivery.channel, result.verdict)
        if delivery.status != DeliveryStatus.PENDING:
            delivery_settled(delivery.channel, delivery.status, attempts=delivery.attempts)
            logger.debug(
                "delivery settled",
                extra={"delivery_id": delivery.pk, "channel": delivery.channel, "outcome": delivery.status},
            )
        if result.verdict != Verdict.DELIVERED:
            logger.info(
                "delivery attempt failed",
                extra={"delivery_id": delivery.pk, "channel": delivery.channel, "target": delivery.target,
                       "error": result.error, "status": delivery.status},
            )  # fmt: skip
    return delivery


def _next_attempt(delivery: Delivery, result: SendResult, now: datetime) -> datetime | None:
    if result.verdict != Verdict.RETRY:
        return None
    delay = retry_delay(
        attempts=delivery.attempts,
        schedule=tuple(settings.NOTIFIER["RETRY_SCHEDULE"]),
        jitter=RETRY_JITTER,
        retry_after=result.retry_after,
        rng=_rng,
    )
    return None if delay is None else now + timedelta(seconds=delay)


def _record(delivery: Delivery, result: SendResult, *, started: datetime, duration_ms: int) -> str | None:
    """Record the attempt and what it means for the delivery and its endpoint, in one transaction, and set
    ``delivery``'s fields to match; the reason to disable the endpoint, if any. A delivery whose claim
    another worker took over meanwhile (this attempt outlived its lease) keeps that worker's state:
    only the attempt is recorded."""
    now = timezone.now()
    next_at = _next_attempt(delivery, result, now)
    with transaction.atomic():
        disable = None
        if delivery.endpoint_id is not None:
            disable = endpoint_attempt_record(delivery.endpoint_id, result)
            disabled = next_at is not None and (
                WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, state=EndpointState.DISABLED.value).exists()
            )
            if disabled:
                next_at, result = None, SendResult(Verdict.FINAL, result.status_code, "endpoint disabled meanwhile")
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, number=delivery.attempts_made, started_at=started, duration_ms=duration_ms,
            status_code=result.status_code, error=result.error[:2000], response_body=result.response_body,
            next_attempt_at=next_at,
        )  # fmt: skip
        if result.verdict == Verdict.DELIVERED:
            change = {"status": DeliveryStatus.DELIVERED.value, "last_error": "", "delivered_at": now}
        elif next_at is not None:
            change = {"status": DeliveryStatus.PENDING.value, "last_error": result.error, "next_attempt_at": next_at}
        else:
            spent = result.verdict == Verdict.RETRY and not disable
            error = f"{result.error} (gave up after {delivery.attempts} attempts)" if spent else result.error
            change = {"status": DeliveryStatus.FAILED.value, "last_error": error[:2000]}
        mine = Delivery.objects.filter(pk=delivery.pk, claimed_until=delivery.claimed_until).update(
            **change, claimed_until=None, updated_at=now
        )
    if mine:
        for name, value in {**change, "claimed_until": None, "updated_at": now}.items():
            setattr(delivery, name, value)
    return disable
