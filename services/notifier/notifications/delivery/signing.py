"""Which keys sign a project's webhooks: its own, derived from the master key at the project's key version.

The version is the highest that a ``project.webhook_secret_rotated`` event taken in announced (1 when
none did); until that event's ``previous_valid_until`` the previous version signs too, and while the
legacy shared ``WEBHOOK_SECRET`` is set, it does as well. Receivers accept any one signature that
verifies, so a rotation never breaks them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from codegen_contracts.events import PROJECT_WEBHOOK_SECRET_ROTATED
from codegen_contracts.signing import project_signing_key, signing_key_parse
from notifications.config import notifier_config
from notifications.models import Notification


@dataclass(frozen=True)
class KeyVersion:
    """A project's current key version, and until when the one before it still signs."""

    version: int = 1
    previous_valid_until: datetime | None = None


#: Seconds a process keeps a project's key version before reading it again. A rotation therefore reaches
#: webhooks within this time; meanwhile they carry the previous key's signature, which stays valid for the
#: whole grace period.
KEY_VERSION_TTL = 5.0

_known: dict[int, tuple[float, KeyVersion]] = {}


def project_key_version(project_id: int) -> KeyVersion:
    """The key version of ``project_id`` as the rotation events taken in tell it (read at most every
    KEY_VERSION_TTL seconds per process)."""
    known = _known.get(project_id)
    if known is not None and known[0] > time.monotonic():
        return known[1]
    current = _key_version_read(project_id)
    _known[project_id] = (time.monotonic() + KEY_VERSION_TTL, current)
    return current


def _key_version_read(project_id: int) -> KeyVersion:
    current = KeyVersion()
    raws = Notification.objects.filter(project_id=project_id, event_type=PROJECT_WEBHOOK_SECRET_ROTATED).values_list(
        "event__raw", flat=True
    )
    for raw in raws:
        payload = (raw or {}).get("payload") or {}
        version = int(payload.get("webhook_key_version") or 1)
        if version > current.version:
            current = KeyVersion(version, parse_datetime(str(payload.get("previous_valid_until") or "")))
    return current


def webhook_signing_keys(*, project_id: int, now: datetime) -> list[bytes]:
    """The keys that sign ``project_id``'s webhooks at ``now``, newest first; ValueError saying why when the
    master key (or the legacy secret) is unusable."""
    master = signing_key_parse(notifier_config().webhook_master_key)
    key = project_key_version(project_id)
    keys = [project_signing_key(master, project_id=project_id, version=key.version)]
    if key.version > 1 and key.previous_valid_until is not None and now < key.previous_valid_until:
        keys.append(project_signing_key(master, project_id=project_id, version=key.version - 1))
    legacy = notifier_config().webhook_secret
    if legacy:
        keys.append(signing_key_parse(legacy))
    return keys
