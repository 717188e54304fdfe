"""Event types, their payload schemas and versions: the catalogue both services share.

Type strings are stable and never reused. A retired type stays listed with a comment.
See docs/events.md for the prose catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from codegen_contracts.errors import UnknownEventType

#: A database id: a positive integer.
Id = Annotated[int, msgspec.Meta(ge=1)]
#: A count or a size in bytes: a non-negative integer.
Count = Annotated[int, msgspec.Meta(ge=0)]
# Text bounded as the projects service stores it, so that a consumer can store what it is given.
#: A project name (characters).
Name = Annotated[str, msgspec.Meta(max_length=200)]
#: An e-mail address (characters, RFC 5321's limit).
Email = Annotated[str, msgspec.Meta(max_length=254)]
#: A URL (characters).
Url = Annotated[str, msgspec.Meta(max_length=2048)]
#: A free-text message such as an error (characters).
Text = Annotated[str, msgspec.Meta(max_length=10_000)]

GENERATION_STARTED = "generation.started"
GENERATION_RUNNING = "generation.running"
GENERATION_COMPLETED = "generation.completed"
GENERATION_FAILED = "generation.failed"
GENERATION_ARCHIVED = "generation.archived"
EXPORT_REQUESTED = "export.requested"
EXPORT_RUNNING = "export.running"
EXPORT_COMPLETED = "export.completed"
EXPORT_FAILED = "export.failed"
PROJECT_WEBHOOK_SECRET_ROTATED = "project.webhook_secret_rotated"

#: Aggregate type of generated-project events.
AGGREGATE_GENERATED_PROJECT = "generated_project"
#: Aggregate type of repository-export events.
AGGREGATE_REPOSITORY_EXPORT = "repository_export"
#: Aggregate type of project events.
AGGREGATE_PROJECT = "project"


class GenerationPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Facts about a generated project's status change, enough to notify without calling back."""

    project_id: Id
    project_name: Name
    owner_id: Id
    notification_email: Email | None
    webhook_url: Url | None
    generated_project_id: Id
    from_status: str | None
    to_status: str
    total_files: Count
    total_size: Count


class ExportPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Facts about a repository export's status change, enough to notify without calling back."""

    project_id: Id
    project_name: Name
    owner_id: Id
    notification_email: Email | None
    webhook_url: Url | None
    generated_project_id: Id
    export_id: Id
    repository_url: Url
    from_status: str | None
    to_status: str
    error: Text


class SecretRotatedPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A project's webhook secret was rotated: the key version webhooks are signed with from now on, and until
    when the previous version still signs them too (the secret itself never travels)."""

    project_id: Id
    project_name: Name
    owner_id: Id
    notification_email: Email | None
    webhook_url: Url | None
    webhook_key_version: Annotated[int, msgspec.Meta(ge=2)]
    rotated_at: datetime
    previous_valid_until: datetime


@dataclass(frozen=True)
class EventSpec:
    """One version of one event type: its stable name, schema version, aggregate type and payload schema."""

    event_type: str
    version: int
    aggregate_type: str
    payload_type: type[msgspec.Struct]


#: Every version of every event type, by (type, version). A version, once released, stays listed:
#: events of it may still be queued, parked or replayed. Older versions reach the current one
#: through ``codegen_contracts.upcast``.
EVENT_VERSIONS: dict[tuple[str, int], EventSpec] = {
    (spec.event_type, spec.version): spec
    for spec in (
        EventSpec(GENERATION_STARTED, 1, AGGREGATE_GENERATED_PROJECT, GenerationPayload),
        EventSpec(GENERATION_RUNNING, 1, AGGREGATE_GENERATED_PROJECT, GenerationPayload),
        EventSpec(GENERATION_COMPLETED, 1, AGGREGATE_GENERATED_PROJECT, GenerationPayload),
        EventSpec(GENERATION_FAILED, 1, AGGREGATE_GENERATED_PROJECT, GenerationPayload),
        EventSpec(GENERATION_ARCHIVED, 1, AGGREGATE_GENERATED_PROJECT, GenerationPayload),
        EventSpec(EXPORT_REQUESTED, 1, AGGREGATE_REPOSITORY_EXPORT, ExportPayload),
        EventSpec(EXPORT_RUNNING, 1, AGGREGATE_REPOSITORY_EXPORT, ExportPayload),
        EventSpec(EXPORT_COMPLETED, 1, AGGREGATE_REPOSITORY_EXPORT, ExportPayload),
        EventSpec(EXPORT_FAILED, 1, AGGREGATE_REPOSITORY_EXPORT, ExportPayload),
        EventSpec(PROJECT_WEBHOOK_SECRET_ROTATED, 1, AGGREGATE_PROJECT, SecretRotatedPayload),
    )
}


def current_versions() -> dict[str, EventSpec]:
    """Each event type's current (highest) version, from ``EVENT_VERSIONS``."""
    current: dict[str, EventSpec] = {}
    for spec in EVENT_VERSIONS.values():
        if spec.event_type not in current or spec.version > current[spec.event_type].version:
            current[spec.event_type] = spec
    return current


#: Every event type, by its stable name, at its current version: what a producer writes.
EVENT_TYPES: dict[str, EventSpec] = current_versions()


def event_spec(event_type: str) -> EventSpec:
    """Return the current spec of ``event_type``; raise UnknownEventType when it is not catalogued."""
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
