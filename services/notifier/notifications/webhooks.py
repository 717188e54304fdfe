"""Signed webhooks, the Standard Webhooks way, sent to the address the SSRF guard checked."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import urllib3

from notifications.ssrf import Target

#: Shortest signing secret accepted, in bytes.
MIN_SECRET_BYTES = 24


def webhook_secret_bytes(secret: str) -> bytes:
    """The signing key of a secret given as ``whsec_<base64>`` or as plain text (≥ 24 bytes); ValueError
    saying why for any other (production settings refuse such a secret at start-up)."""
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("a 'whsec_' webhook secret must be valid base64 after the prefix") from None
    else:
        key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the webhook secret must be at least {MIN_SECRET_BYTES} bytes, got {len(key)}")
    return key


def webhook_sign(*, key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_body(*, event_type: str, occurred_at: str, data: dict[str, Any]) -> bytes:
    """The JSON body: ``{"type", "timestamp", "data"}`` as the specification suggests."""
    return json.dumps({"type": event_type, "timestamp": occurred_at, "data": data}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def webhook_post(
    target: Target, *, key: bytes, msg_id: str, body: bytes, timeout: float, traceparent: str | None = None
) -> Response:
    """POST a signed body to ``target`` (its checked address), following no redirect.

    ``webhook-id`` is the event id, stable across retries; timestamp and signature are made per try.
    ``traceparent``, the event's W3C trace context, is passed on as its header when there is one.
    Raises urllib3 errors for timeouts and connection failures.
    """
    timestamp = int(time.time())
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "codegen-notifier/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(key=key, msg_id=msg_id, timestamp=timestamp, body=body),
    }
    if traceparent:
        headers["traceparent"] = traceparent
    pool_timeout = urllib3.Timeout(connect=timeout, read=timeout)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=pool_timeout,
            server_hostname=target.host,
            assert_hostname=target.host,
            retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=pool_timeout, retries=False)
    with pool:
        response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False, retries=False)
        return Response(status=response.status, body=response.data[:2000])
