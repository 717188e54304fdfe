"""Each project's webhook secret: shown to its owner, rotated with a grace period, never stored or sent.

The secret is derived from the master key (``PROJECTS["WEBHOOK_MASTER_KEY"]``, which the notifier
holds too) and the project's key version (``codegen_contracts.signing``). A rotation raises the
version and, in the same transaction, emits ``project.webhook_secret_rotated`` with the version and
until when the previous secret still signs (``WEBHOOK_SECRET_ROTATION_GRACE``); the notifier signs
with both until then. Why derived rather than stored: no secret to keep in two databases, to send
between them or to leak from a backup; one master key to guard and, if it must change, to replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from codegen_contracts import events as catalogue
from codegen_contracts.signing import project_signing_key, secret_text, signing_key_parse
from outbox.writer import outbox_event_write
from projects.events import project_facts
from projects.models import Project


@dataclass(frozen=True)
class WebhookSecret:
    """What the owner reads: the secret, its version, when it was rotated, until when the previous one signs."""

    secret: str
    version: int
    rotated_at: datetime | None
    previous_valid_until: datetime | None


def _grace() -> timedelta:
    return timedelta(seconds=float(settings.PROJECTS["WEBHOOK_SECRET_ROTATION_GRACE"]))


def project_webhook_secret(*, project: Project) -> WebhookSecret:
    """The secret that signs ``project``'s webhooks now."""
    master = signing_key_parse(settings.PROJECTS["WEBHOOK_MASTER_KEY"])
    key = project_signing_key(master, project_id=project.pk, version=project.webhook_key_version)
    until = project.webhook_key_rotated_at + _grace() if project.webhook_key_rotated_at else None
    return WebhookSecret(
        secret=secret_text(key),
        version=project.webhook_key_version,
        rotated_at=project.webhook_key_rotated_at,
        previous_valid_until=until if until is not None and until > timezone.now() else None,
    )


def project_webhook_secret_rotate(*, project: Project) -> WebhookSecret:
    """Give ``project`` a new webhook secret (the previous one signs too for the grace period), and tell the
    notifier, in one transaction."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().select_related("owner").get(pk=project.pk)
        locked.webhook_key_version += 1
        locked.webhook_key_rotated_at = timezone.now()
        locked.save(update_fields=["webhook_key_version", "webhook_key_rotated_at", "updated_at"])
        outbox_event_write(
            event_type=catalogue.PROJECT_WEBHOOK_SECRET_ROTATED,
            aggregate_id=locked.pk,
            sequence=locked.webhook_key_version - 1,
            payload={
                **project_facts(locked),
                "webhook_key_version": locked.webhook_key_version,
                "rotated_at": locked.webhook_key_rotated_at,
                "previous_valid_until": locked.webhook_key_rotated_at + _grace(),
            },
        )
    return project_webhook_secret(project=locked)
