"""Signed webhooks, the Standard Webhooks way: the key, the signature, the body and the headers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

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


def webhook_headers(
    host_header: str, *, keys: list[bytes], msg_id: str, body: bytes, traceparent: str | None = None
) -> dict[str, str]:
    """The headers of one attempt: ``webhook-id`` (the event id, stable across attempts), a timestamp and a
    signature per key made now, space-separated as the specification says (both keys during a rotation);
    ``traceparent``, the event's W3C trace context, when there is one."""
    timestamp = int(time.time())
    headers = {
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": "codegen-notifier/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            webhook_sign(key=key, msg_id=msg_id, timestamp=timestamp, body=body) for key in keys
        ),
    }
    if traceparent:
        headers["traceparent"] = traceparent
    return headers
