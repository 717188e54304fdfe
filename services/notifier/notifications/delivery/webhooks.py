"""Signed webhooks, the Standard Webhooks way: the key, the signature, the body and the headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


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
