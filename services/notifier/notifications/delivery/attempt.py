"""Attempts: send a claimed delivery on its channel (no database work but the signing keys), then put a batch of
attempts on record in one transaction: each delivery settled or rescheduled, its endpoint's record updated."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from opentelemetry.trace import SpanKind

from codegen_telemetry import log_context, span
from notifications.config import notifier_config
from notifications.delivery import channels
from notifications.delivery.endpoints import endpoint_disable, endpoints_attempts_record
from notifications.delivery.metrics import attempt_counted, delivery_settled
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.delivery.schedule import retry_delay
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, EndpointState, WebhookEndpoint
from notifications.reconnect import on_fresh_connection

logger = logging.getLogger(__name__)

#: How far each retry's wait is spread, as a fraction of it (± 10%).
RETRY_JITTER = 0.1

_rng = random.Random()


@dataclass
class Attempted:
    """One attempt made: the delivery as claimed, what came of it, when it started and how long it took."""

    delivery: Delivery
    result: SendResult
    started: datetime
    duration_ms: int


def delivery_send(delivery: Delivery) -> Attempted:
    """Make one attempt at ``delivery`` (claimed by this worker). A defect in a sender is an attempt that
    failed with the reason (retried on the schedule), never an exception. The attempt is a span in its
    event's trace; log lines carry the event's ids."""
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
        return Attempted(delivery, result, started, int((time.monotonic() - clock) * 1000))


def _next_attempt(delivery: Delivery, result: SendResult, now: datetime) -> datetime | None:
    if result.verdict != Verdict.RETRY:
        return None
    delay = retry_delay(
        attempts=delivery.attempts,
        schedule=notifier_config().retry_schedule,
        jitter=RETRY_JITTER,
        retry_after=result.retry_after,
        rng=_rng,
    )
    return None if delay is None else now + timedelta(seconds=delay)


def attempts_record(batch: list[Attempted]) -> None:
    """Put ``batch`` on record in one transaction (safe to run again on a new connection), disable the
    endpoints it says to, and count and log each outcome. Each delivery's fields are set to match."""
    if not batch:
        return
    disable = on_fresh_connection(lambda: _record(batch))
    endpoints = {a.delivery.endpoint_id: a.delivery.endpoint for a in batch}
    for endpoint_id, reason in disable.items():
        endpoint = endpoints[endpoint_id]
        assert endpoint is not None

        def disabling(endpoint: WebhookEndpoint = endpoint, reason: str = reason) -> int:
            return endpoint_disable(endpoint, reason=reason)

        on_fresh_connection(disabling)
    for attempted in batch:
        delivery, result = attempted.delivery, attempted.result
        attempt_counted(delivery.channel, result.verdict)
        if delivery.status != DeliveryStatus.PENDING:
            delivery_settled(delivery.channel, delivery.status, attempts=delivery.attempts)
        event = delivery.event
        extra = {"delivery_id": delivery.pk, "channel": delivery.channel, "status": delivery.status}
        with log_context(
            event_id=str(event.event_id), correlation_id=event.correlation_id, traceparent=event.traceparent
        ):
            if result.verdict != Verdict.DELIVERED:
                logger.info(
                    "delivery attempt failed", extra={**extra, "target": delivery.target, "error": result.error}
                )
            elif delivery.status == DeliveryStatus.DELIVERED:
                logger.debug("delivery settled", extra=extra)


def _record(batch: list[Attempted]) -> dict[int, str]:
    """The attempts and what they mean, in one transaction; the endpoints to disable, with why. A delivery
    whose claim another worker took over meanwhile (an attempt that outlived its lease) keeps that worker's
    state: only the attempt is recorded."""
    now = timezone.now()
    nexts = {a.delivery.pk: _next_attempt(a.delivery, a.result, now) for a in batch}
    with transaction.atomic():
        ok = Counter(a.delivery.endpoint_id for a in batch if a.result.verdict == Verdict.DELIVERED)
        failed = Counter(a.delivery.endpoint_id for a in batch if a.result.verdict != Verdict.DELIVERED)
        ok.pop(None, None)
        failed.pop(None, None)
        gone = {a.delivery.endpoint_id for a in batch if a.result.verdict == Verdict.GONE} - {None}
        disable = endpoints_attempts_record(ok, failed, gone=gone)  # type: ignore[arg-type]
        retried = {a.delivery.endpoint_id for a in batch if a.delivery.endpoint_id and nexts[a.delivery.pk]}
        disabled = set()
        if retried:
            disabled = set(
                WebhookEndpoint.objects.filter(pk__in=retried, state=EndpointState.DISABLED.value).values_list(
                    "pk", flat=True
                )
            )
        for attempted in batch:
            if attempted.delivery.endpoint_id in disabled and nexts[attempted.delivery.pk] is not None:
                nexts[attempted.delivery.pk] = None
                attempted.result = SendResult(
                    Verdict.FINAL, attempted.result.status_code, "endpoint disabled meanwhile"
                )
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery_id=a.delivery.pk, number=a.delivery.attempts_made, started_at=a.started,
                duration_ms=a.duration_ms, status_code=a.result.status_code, error=a.result.error[:2000],
                response_body=a.result.response_body, next_attempt_at=nexts[a.delivery.pk],
            )
            for a in batch
        )  # fmt: skip
        delivered = [a.delivery for a in batch if a.result.verdict == Verdict.DELIVERED]
        if delivered:
            change = {"status": DeliveryStatus.DELIVERED.value, "last_error": "", "delivered_at": now}
            _deliveries_settle(delivered, change, now)
        for attempted in batch:
            if attempted.result.verdict != Verdict.DELIVERED:
                _deliveries_settle([attempted.delivery], _change(attempted, nexts[attempted.delivery.pk], disable), now)
    return disable


def _change(attempted: Attempted, next_at: datetime | None, disable: dict[int, str]) -> dict[str, object]:
    result, delivery = attempted.result, attempted.delivery
    if next_at is not None:
        return {"status": DeliveryStatus.PENDING.value, "last_error": result.error, "next_attempt_at": next_at}
    spent = result.verdict == Verdict.RETRY and delivery.endpoint_id not in disable
    error = f"{result.error} (gave up after {delivery.attempts} attempts)" if spent else result.error
    return {"status": DeliveryStatus.FAILED.value, "last_error": error[:2000]}


def _deliveries_settle(deliveries: list[Delivery], change: dict[str, object], now: datetime) -> None:
    """Apply ``change`` to those of ``deliveries`` still held by the claims they were attempted under."""
    held = {d.pk: d.claimed_until for d in deliveries}
    rows = Delivery.objects.select_for_update().filter(pk__in=list(held)).values_list("pk", "claimed_until")
    settled = {pk for pk, until in rows if until == held[pk]}
    Delivery.objects.filter(pk__in=settled).update(**change, claimed_until=None, updated_at=now)
    for delivery in deliveries:
        if delivery.pk in settled:
            for name, value in {**change, "claimed_until": None, "updated_at": now}.items():
                setattr(delivery, name, value)
