"""What each event type notifies: one handler per type, routed by the table at the bottom."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from codegen_contracts import Envelope, ExportPayload, GenerationPayload
from codegen_contracts import events as catalogue


@dataclass(frozen=True)
class Notice:
    """What to tell the project's people about one event, and where to send it."""

    project_id: int
    recipient: str
    subject: str
    body: str
    emails: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)


def _targets(payload: GenerationPayload | ExportPayload) -> dict[str, list[str]]:
    return {
        "emails": [payload.notification_email] if payload.notification_email else [],
        "webhooks": [payload.webhook_url] if payload.webhook_url else [],
    }


def _generation(envelope: Envelope) -> GenerationPayload:
    return GenerationPayload(**envelope.payload)


def _export(envelope: Envelope) -> ExportPayload:
    return ExportPayload(**envelope.payload)


def handle_generation_started(envelope: Envelope) -> Notice:
    p = _generation(envelope)
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Generation started for {p.project_name}",
        body=f"Generation {p.generated_project_id} of project {p.project_name!r} has started.",
        **_targets(p),
    )


def handle_generation_completed(envelope: Envelope) -> Notice:
    p = _generation(envelope)
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Generation completed for {p.project_name}",
        body=f"Generation {p.generated_project_id} of project {p.project_name!r} completed: "
        f"{p.total_files} files, {p.total_size} bytes.",
        **_targets(p),
    )


def handle_generation_failed(envelope: Envelope) -> Notice:
    p = _generation(envelope)
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Generation failed for {p.project_name}",
        body=f"Generation {p.generated_project_id} of project {p.project_name!r} failed.",
        **_targets(p),
    )


def handle_export_completed(envelope: Envelope) -> Notice:
    p = _export(envelope)
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Export completed for {p.project_name}",
        body=f"Export {p.export_id} of project {p.project_name!r} to {p.repository_url} completed.",
        **_targets(p),
    )


def handle_export_failed(envelope: Envelope) -> Notice:
    p = _export(envelope)
    return Notice(
        project_id=p.project_id,
        recipient=f"user:{p.owner_id}",
        subject=f"Export failed for {p.project_name}",
        body=f"Export {p.export_id} of project {p.project_name!r} to {p.repository_url} failed: {p.error}",
        **_targets(p),
    )


#: The routing table: event type → handler. Known types not listed here are acknowledged and
#: recorded as ignored (generation.running, generation.archived, export.requested, export.running).
HANDLERS: dict[str, Callable[[Envelope], Notice]] = {
    catalogue.GENERATION_STARTED: handle_generation_started,
    catalogue.GENERATION_COMPLETED: handle_generation_completed,
    catalogue.GENERATION_FAILED: handle_generation_failed,
    catalogue.EXPORT_COMPLETED: handle_export_completed,
    catalogue.EXPORT_FAILED: handle_export_failed,
}
