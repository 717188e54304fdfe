"""What each event type notifies: one handler per type, routed by the table at the bottom.

A handler is given the envelope and its payload at the current version, typed (older versions
were upcast by the contracts' reader).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codegen_contracts import Envelope, ExportPayload, GenerationPayload, SecretRotatedPayload
from codegen_contracts import events as catalogue
from notifications.delivery.channels import channel_targets
from notifications.intake.notice import Notice
from notifications.models import Channel

__all__ = ["HANDLERS", "Notice"]


def _notice(payload: GenerationPayload | ExportPayload, subject: str, body: str) -> Notice:
    """The project owner is told, in-app and on each channel the project set up."""
    return Notice(
        project_id=payload.project_id,
        recipient=f"user:{payload.owner_id}",
        subject=f"{subject} for {payload.project_name}",
        body=body,
        targets=channel_targets(payload),
    )


def handle_generation_started(envelope: Envelope, p: GenerationPayload) -> Notice:
    return _notice(
        p, "Generation started", f"Generation {p.generated_project_id} of project {p.project_name!r} has started."
    )


def handle_generation_completed(envelope: Envelope, p: GenerationPayload) -> Notice:
    return _notice(
        p,
        "Generation completed",
        f"Generation {p.generated_project_id} of project {p.project_name!r} completed: "
        f"{p.total_files} files, {p.total_size} bytes.",
    )


def handle_generation_failed(envelope: Envelope, p: GenerationPayload) -> Notice:
    return _notice(p, "Generation failed", f"Generation {p.generated_project_id} of project {p.project_name!r} failed.")


def handle_export_completed(envelope: Envelope, p: ExportPayload) -> Notice:
    return _notice(
        p, "Export completed", f"Export {p.export_id} of project {p.project_name!r} to {p.repository_url} completed."
    )


def handle_export_failed(envelope: Envelope, p: ExportPayload) -> Notice:
    return _notice(
        p,
        "Export failed",
        f"Export {p.export_id} of project {p.project_name!r} to {p.repository_url} failed: {p.error}",
    )


def handle_webhook_secret_rotated(envelope: Envelope, p: SecretRotatedPayload) -> Notice:
    """The owner is told in the app and by e-mail (never by webhook): a rotation they did not make is an alarm."""
    until = p.previous_valid_until.isoformat(timespec="seconds")
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Webhook secret rotated for {p.project_name}",
        body=f"The webhook secret of project {p.project_name!r} was rotated (version {p.webhook_key_version}). "
        f"Webhooks carry the signatures of both the new and the previous secret until {until}, "
        "then the new one's only.",
        targets={name: found for name, found in channel_targets(p).items() if name == Channel.EMAIL},
    )


#: The routing table: event type → handler. Known types not listed here are acknowledged and
#: recorded as ignored (generation.running, generation.archived, export.requested, export.running).
HANDLERS: dict[str, Callable[[Envelope, Any], Notice]] = {
    catalogue.GENERATION_STARTED: handle_generation_started,
    catalogue.GENERATION_COMPLETED: handle_generation_completed,
    catalogue.GENERATION_FAILED: handle_generation_failed,
    catalogue.EXPORT_COMPLETED: handle_export_completed,
    catalogue.EXPORT_FAILED: handle_export_failed,
    catalogue.PROJECT_WEBHOOK_SECRET_ROTATED: handle_webhook_secret_rotated,
}
