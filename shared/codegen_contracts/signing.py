"""Webhook signing keys: each project's key derived from a master key both services hold.

A project's key is HMAC-SHA256(master key, ``codegen-webhook/project/<id>/version/<n>``): the
projects service shows it to the project's owner (``whsec_`` + base64, as Standard Webhooks
writes secrets), the notifier signs with it, and neither stores it nor sends it anywhere; events
carry only the version. Rotating a project's secret raises its version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

#: The prefix of a Standard Webhooks secret.
SECRET_PREFIX = "whsec_"
#: Shortest key accepted, in bytes (a master key, or a legacy secret).
MIN_KEY_BYTES = 24


def signing_key_parse(secret: str) -> bytes:
    """The key of a secret given as ``whsec_<base64>`` or as plain text (at least MIN_KEY_BYTES bytes);
    ValueError saying why for any other."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError("a 'whsec_' secret must be valid base64 after the prefix") from None
    else:
        key = secret.encode()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    return key


def project_signing_key(master: bytes, *, project_id: int, version: int) -> bytes:
    """The 32-byte key that signs ``project_id``'s webhooks at key ``version`` (from 1)."""
    if project_id < 1 or version < 1:
        raise ValueError("project_id and version start at 1")
    label = f"codegen-webhook/project/{project_id}/version/{version}".encode()
    return hmac.new(master, label, hashlib.sha256).digest()


def secret_text(key: bytes) -> str:
    """``key`` written as a Standard Webhooks secret: ``whsec_`` + base64."""
    return SECRET_PREFIX + base64.b64encode(key).decode()
