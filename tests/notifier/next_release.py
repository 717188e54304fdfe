"""The next release of the contracts and the notifier, as a test stands it up: ``generation.completed`` v2.

Version 2 renames ``total_size`` to ``total_bytes`` (a breaking change, hence a new version), with
the upcaster from version 1 and the handler rewritten for version 2, as a real release would ship
them. ``install()`` puts them in place in this process (a worker becomes that release with
``dramatiq notifications.worker tests.notifier.next_release_worker``); ``uninstall()`` takes them out.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from codegen_contracts import EVENT_TYPES, EVENT_VERSIONS, UPCASTERS, Envelope, EventSpec
from codegen_contracts.events import AGGREGATE_GENERATED_PROJECT, GENERATION_COMPLETED
from notifications.intake.handlers import HANDLERS, Notice, _notice, handle_generation_completed

Count = Annotated[int, msgspec.Meta(ge=0)]


class GenerationPayloadV2(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Version 2: ``total_size`` is now ``total_bytes``."""

    project_id: int
    project_name: str
    owner_id: int
    notification_email: str | None
    webhook_url: str | None
    generated_project_id: int
    from_status: str | None
    to_status: str
    total_files: Count
    total_bytes: Count


def generation_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """``total_size`` becomes ``total_bytes``; nothing else changes."""
    upcast = dict(payload)
    upcast["total_bytes"] = upcast.pop("total_size")
    return upcast


def handle_generation_completed_v2(envelope: Envelope, p: GenerationPayloadV2) -> Notice:
    return _notice(
        p,  # type: ignore[arg-type]
        "Generation completed",
        f"Generation {p.generated_project_id} of project {p.project_name!r} completed: "
        f"{p.total_files} files, {p.total_bytes} bytes (v2).",
    )


V2 = EventSpec(GENERATION_COMPLETED, 2, AGGREGATE_GENERATED_PROJECT, GenerationPayloadV2)


def install() -> None:
    EVENT_VERSIONS[(GENERATION_COMPLETED, 2)] = V2
    EVENT_TYPES[GENERATION_COMPLETED] = V2
    UPCASTERS[(GENERATION_COMPLETED, 1)] = generation_v1_to_v2
    HANDLERS[GENERATION_COMPLETED] = handle_generation_completed_v2


def uninstall() -> None:
    EVENT_VERSIONS.pop((GENERATION_COMPLETED, 2), None)
    EVENT_TYPES[GENERATION_COMPLETED] = EVENT_VERSIONS[(GENERATION_COMPLETED, 1)]
    UPCASTERS.pop((GENERATION_COMPLETED, 1), None)
    HANDLERS[GENERATION_COMPLETED] = handle_generation_completed
