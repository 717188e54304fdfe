"""Which event each status change emits, and the payload it carries (ids and facts, no secrets)."""

from __future__ import annotations

from typing import Any

from codegen_contracts import events as catalogue
from projects.models import GeneratedProject, Project, RepositoryExport
from projects.transitions import ExportStatus, GenerationStatus

#: Event type emitted when a generated project reaches each status (created = pending).
GENERATION_EVENT_TYPES = {
    GenerationStatus.PENDING: catalogue.GENERATION_STARTED,
    GenerationStatus.GENERATING: catalogue.GENERATION_RUNNING,
    GenerationStatus.COMPLETED: catalogue.GENERATION_COMPLETED,
    GenerationStatus.FAILED: catalogue.GENERATION_FAILED,
    GenerationStatus.ARCHIVED: catalogue.GENERATION_ARCHIVED,
}

#: Event type emitted when an export reaches each status (created = pending).
EXPORT_EVENT_TYPES = {
    ExportStatus.PENDING: catalogue.EXPORT_REQUESTED,
    ExportStatus.RUNNING: catalogue.EXPORT_RUNNING,
    ExportStatus.COMPLETED: catalogue.EXPORT_COMPLETED,
    ExportStatus.FAILED: catalogue.EXPORT_FAILED,
}


def project_facts(project: Project) -> dict[str, Any]:
    """What every event of a project carries about it: its id, name, owner and where notifications go."""
    return {
        "project_id": project.pk,
        "project_name": project.name,
        "owner_id": project.owner_id,
        "notification_email": project.notification_email or None,
        "webhook_url": project.webhook_url or None,
    }


def generation_event(generated_project: GeneratedProject, from_status: str | None) -> tuple[str, dict[str, Any]]:
    """Return the event type and payload for ``generated_project`` having reached its status."""
    payload = {
        **project_facts(generated_project.project),
        "generated_project_id": generated_project.pk,
        "from_status": from_status,
        "to_status": generated_project.status,
        "total_files": generated_project.total_files,
        "total_size": generated_project.total_size,
    }
    return GENERATION_EVENT_TYPES[generated_project.status], payload


def export_event(export: RepositoryExport, from_status: str | None) -> tuple[str, dict[str, Any]]:
    """Return the event type and payload for ``export`` having reached its status."""
    payload = {
        **project_facts(export.generated_project.project),
        "generated_project_id": export.generated_project_id,
        "export_id": export.pk,
        "repository_url": export.repository_url,
        "from_status": from_status,
        "to_status": export.status,
        "error": export.error,
    }
    return EXPORT_EVENT_TYPES[export.status], payload
