"""Webhooks: a signed POST to the address the SSRF guard checked, bounded in time and memory, on a connection
kept alive to that address (``delivery.connections``).

Verdicts: 2xx delivered; 410 Gone disables the endpoint; a redirect (3xx, never followed) and a
target the guard refuses are final; everything else (no answer, a timeout, a connection closed
mid-answer, 4xx, 5xx) is retried on the schedule, after the receiver's Retry-After on 429 and 503.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import urllib3
from django.utils import timezone

from codegen_telemetry import traceparent_current
from notifications.config import notifier_config
from notifications.delivery.connections import receiver_pool
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.delivery.schedule import retry_after_seconds
from notifications.delivery.signing import webhook_signing_keys
from notifications.delivery.ssrf import Target, webhook_target
from notifications.delivery.webhooks import webhook_body, webhook_headers
from notifications.errors import UnsafeTarget
from notifications.models import Channel, Delivery

if TYPE_CHECKING:
    from codegen_contracts import Envelope
    from notifications.intake.notice import Notice

NAME = Channel.WEBHOOK.value

#: Bytes of a receiver's answer kept in the attempt's record (the rest is never read).
RESPONSE_BODY_KEPT = 1024
#: Statuses whose Retry-After is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def webhook_targets(payload: Any) -> list[str]:
    """The project's webhook URL, when it has one."""
    url = getattr(payload, "webhook_url", None)
    return [url] if url else []


def webhook_body_of(notice: Notice, envelope: Envelope, late: bool) -> str:
    """The event as Standard Webhooks suggests, its data carrying the event id, its ``sequence`` (for receivers
    to order by) and ``"late": true`` when it took effect after a later event of its aggregate."""
    data = {**envelope.payload, "event_id": str(envelope.event_id), "sequence": envelope.sequence}
    if late:
        data["late"] = True
    return webhook_body(
        event_type=envelope.event_type, occurred_at=envelope.occurred_at.isoformat(), data=data
    ).decode()


def webhook_send(delivery: Delivery) -> SendResult:
    """POST ``delivery``'s body to its URL, signed with its project's keys; ``webhook-id`` is the event id."""
    config = notifier_config()
    try:
        target = webhook_target(delivery.target, allow_loopback=config.webhook_allow_loopback)
    except UnsafeTarget as exc:
        return SendResult(Verdict.FINAL, error=f"refused: {exc}")
    event = delivery.event
    assert delivery.endpoint is not None  # assigned before any claim
    try:
        keys = webhook_signing_keys(project_id=delivery.endpoint.project_id, now=timezone.now())
    except ValueError as exc:
        return SendResult(Verdict.FINAL, error=f"signing key: {exc}")
    headers = webhook_headers(
        target.host_header,
        keys=keys,
        msg_id=str(event.event_id),
        body=delivery.body.encode(),
        traceparent=traceparent_current() or event.traceparent,  # the attempt's span when tracing
    )
    return _post(target, headers, delivery.body.encode(), timeout=config.webhook_timeout)


def _post(target: Target, headers: dict[str, str], body: bytes, *, timeout: float) -> SendResult:
    # total bounds the whole exchange, so a receiver that answers a byte at a time cannot hold a sender
    request_timeout = urllib3.Timeout(connect=timeout, read=timeout, total=timeout)
    try:
        response = receiver_pool(target).urlopen(
            "POST", target.path, body=body, headers=headers, timeout=request_timeout, redirect=False, retries=False,
            preload_content=False,
        )  # fmt: skip
        ended = False
        try:
            # a byte past what is kept says whether the answer ended (the rest of a longer one is never read)
            start = response.read(RESPONSE_BODY_KEPT + 1, decode_content=False)
            ended = len(start) <= RESPONSE_BODY_KEPT
        finally:
            if not ended:
                response.close()  # cut short, or longer than what is kept: its connection is not used again
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return SendResult(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}"[:2000])
    status = response.status
    text = start[:RESPONSE_BODY_KEPT].decode("utf-8", errors="replace")
    if 200 <= status < 300:
        return SendResult(Verdict.DELIVERED, status_code=status, response_body=text)
    if status == 410:
        return SendResult(Verdict.GONE, status_code=status, error="HTTP 410: the receiver is gone", response_body=text)
    if 300 <= status < 400:
        error = f"HTTP {status}: redirects are not followed (Location: {response.headers.get('Location', '-')})"
        return SendResult(Verdict.FINAL, status_code=status, error=error[:2000], response_body=text)
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = retry_after_seconds(
            response.headers.get("Retry-After"), now=timezone.now(), cap=notifier_config().retry_after_max
        )
    return SendResult(
        Verdict.RETRY, status_code=status, error=f"HTTP {status}", response_body=text, retry_after=retry_after
    )
