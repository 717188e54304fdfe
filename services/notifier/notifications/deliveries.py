"""Attempting deliveries (e-mail, webhooks): bounded retries with tenacity, every try counted in the database."""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import tenacity
import urllib3
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.utils import timezone
from opentelemetry.trace import SpanKind

from codegen_contracts.targets import email_address_problem
from codegen_telemetry import log_context, span, traceparent_current
from notifications.db import on_fresh_connection
from notifications.errors import SendError, UnsafeTarget
from notifications.models import Channel, Delivery, DeliveryStatus
from notifications.ssrf import webhook_target
from notifications.webhooks import webhook_post, webhook_secret_bytes
from notifications.worker_metrics import DELIVERIES, DELIVERY_ATTEMPTS

logger = logging.getLogger(__name__)

#: HTTP statuses worth another try; other non-2xx answers end the delivery as failed.
RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


def _send_email(delivery: Delivery) -> None:
    problem = email_address_problem(delivery.target)  # the projects API's rule, for addresses stored before it
    if problem:
        raise SendError(f"refused: {problem}", retryable=False)
    message = EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        to=[delivery.target],
        headers={"X-Event-ID": str(delivery.event.event_id), "Message-ID": f"<{delivery.event.event_id}@codegen>"},
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=exc.smtp_code < 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP: {exc}", retryable=True) from exc


def _send_webhook(delivery: Delivery) -> None:
    config = settings.NOTIFIER
    try:
        target = webhook_target(delivery.target, allow_loopback=config["WEBHOOK_ALLOW_LOOPBACK"])
    except UnsafeTarget as exc:
        raise SendError(f"refused: {exc}", retryable=False) from exc
    try:
        key = webhook_secret_bytes(config["WEBHOOK_SECRET"])
    except ValueError as exc:
        raise SendError(f"WEBHOOK_SECRET: {exc}", retryable=False) from exc
    try:
        response = webhook_post(
            target,
            key=key,
            msg_id=str(delivery.event.event_id),
            body=delivery.body.encode(),
            timeout=config["WEBHOOK_TIMEOUT"],
            traceparent=traceparent_current() or delivery.event.traceparent,  # the attempt's span when tracing
        )
    except urllib3.exceptions.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    if 200 <= response.status < 300:
        return
    raise SendError(f"HTTP {response.status}", retryable=response.status in RETRYABLE_STATUSES)


_SENDERS = {Channel.EMAIL.value: _send_email, Channel.WEBHOOK.value: _send_webhook}


def _lease() -> timedelta:
    """How long one try may take at most: connect + read timeouts, the wait before it, a margin."""
    config = settings.NOTIFIER
    longest = max(config["WEBHOOK_TIMEOUT"], float(settings.EMAIL_TIMEOUT or 10))
    return timedelta(seconds=2 * longest + config["SEND_MAX_WAIT"] + 1)


def _claim(delivery_id: int, *, retry: bool) -> bool:
    """Take the delivery for one try; False when another worker holds it (or it is settled)."""
    now = timezone.now()
    statuses = [DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value] if retry else [DeliveryStatus.PENDING.value]
    return bool(
        Delivery.objects.filter(pk=delivery_id, status__in=statuses)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(status=DeliveryStatus.PENDING.value, claimed_until=now + _lease(), updated_at=now)
    )


def delivery_attempt(delivery_id: int, *, retry_failed: bool = False) -> Delivery:
    """Try to send one delivery, retrying what may pass; record the outcome.

    A delivery that is delivered (or failed, unless ``retry_failed``) is left alone. When another
    worker is sending it (a redelivered message), wait for that to settle or for its claim to
    expire (a crashed worker), so that it is sent once and never left behind. Each try is a span
    in its event's trace; log lines carry the event's ids.
    """
    # Each statement runs again on a new connection if a restart killed the one it met: each is a
    # read, a claim or an idempotent settle, so a send is never repeated for the database's sake.
    delivery = on_fresh_connection(lambda: Delivery.objects.select_related("event").get(pk=delivery_id))
    event = delivery.event
    with log_context(event_id=str(event.event_id), correlation_id=event.correlation_id, traceparent=event.traceparent):
        return _attempt(delivery, retry_failed=retry_failed)


def _attempt(delivery: Delivery, *, retry_failed: bool) -> Delivery:
    delivery_id = delivery.pk
    deadline = time.monotonic() + _lease().total_seconds() + 1
    while not on_fresh_connection(lambda: _claim(delivery_id, retry=retry_failed)):
        on_fresh_connection(delivery.refresh_from_db)
        if delivery.status != DeliveryStatus.PENDING or time.monotonic() > deadline:
            return delivery
        time.sleep(0.05)
    config = settings.NOTIFIER
    send = _SENDERS[delivery.channel]

    tries = 0

    def one_try() -> None:
        nonlocal tries
        tries += 1
        now = timezone.now()
        on_fresh_connection(
            lambda: Delivery.objects.filter(pk=delivery.pk).update(
                attempts=F("attempts") + 1, claimed_until=now + _lease(), updated_at=now
            )
        )
        attributes = {"notifier.delivery.id": delivery.pk, "notifier.delivery.channel": delivery.channel, "try": tries}
        with span(
            f"deliver {delivery.channel}",
            traceparent=delivery.event.traceparent,
            follow=True,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        ):
            send(delivery)

    outcome = DeliveryStatus.FAILED.value
    try:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(config["SEND_ATTEMPTS"]),
            wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=config["SEND_MAX_WAIT"], jitter=0.2),
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, SendError) and exc.retryable),
            reraise=True,
        ):
            with attempt:
                one_try()
    except SendError as exc:
        _settle(delivery.pk, status=DeliveryStatus.FAILED.value, last_error=str(exc)[:2000])
        logger.warning("delivery %s (%s to %s) failed: %s", delivery.pk, delivery.channel, delivery.target, exc)
    except Exception as exc:  # a defect, not the receiver: failed with the reason, never left claimed and silent
        _settle(delivery.pk, status=DeliveryStatus.FAILED.value, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        logger.exception("delivery %s (%s to %s) failed unexpectedly", delivery.pk, delivery.channel, delivery.target)
    else:
        _settle(delivery.pk, status=DeliveryStatus.DELIVERED.value, last_error="", delivered_at=timezone.now())
        outcome = DeliveryStatus.DELIVERED.value
    on_fresh_connection(delivery.refresh_from_db)
    logger.debug(
        "delivery settled", extra={"delivery_id": delivery.pk, "channel": delivery.channel, "outcome": outcome}
    )
    DELIVERIES.labels(delivery.channel, outcome).inc()
    DELIVERY_ATTEMPTS.labels(delivery.channel).observe(tries)
    return delivery


def _settle(delivery_id: int, **outcome: Any) -> None:
    """Record a delivery's outcome and release its claim (idempotent, so safe to run again)."""
    now = timezone.now()
    on_fresh_connection(
        lambda: Delivery.objects.filter(pk=delivery_id).update(**outcome, claimed_until=None, updated_at=now)
    )


def deliveries_attempt(ids: Iterable[int]) -> list[Delivery]:
    """Attempt several deliveries, one after the other."""
    return [delivery_attempt(delivery_id) for delivery_id in ids]
