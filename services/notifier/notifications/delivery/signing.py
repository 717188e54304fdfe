"""Which keys sign a project's webhooks: its own, derived from the master key at the project's key version.

The version is the highest that a ``project.webhook_secret_rotated`` event taken in announced (1 when
none did); until that event's ``previous_valid_until`` the previous version signs too, and while the
legacy shared ``WEBHOOK_SECRET`` is set, it does as well. Receivers accept any one signature that
verifies, so a rotation never breaks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime

from codegen_contracts.events import PROJECT_WEBHOOK_SECRET_ROTATED
from codegen_contracts.signing import project_signing_key, signing_key_parse
from notifications.models import Notification


@dataclass(frozen=True)
class KeyVersion:
    """A project's current key version, and until when the one before it still signs."""

    version: int = 1
    previous_valid_until: datetime | None = None


def project_key_version(project_id: int) -> KeyVersion:
    """The key version of ``project_id`` as the rotation events taken in tell it."""
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
    master = signing_key_parse(settings.NOTIFIER["WEBHOOK_MASTER_KEY"])
    key = project_key_version(project_id)
    keys = [project_signing_key(master, project_id=project_id, version=key.version)]
    if key.version > 1 and key.previous_valid_until is not None and now < key.previous_valid_until:
        keys.append(project_signing_key(master, project_id=project_id, version=key.version - 1))
    legacy = settings.NOTIFIER["WEBHOOK_SECRET"]
    if legacy:
        keys.append(signing_key_parse(legacy))
    return keys
