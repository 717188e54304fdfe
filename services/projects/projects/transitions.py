"""The status machines, declared once: every path that changes a status asks these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from projects.errors import InvalidTransition


class GenerationStatus(StrEnum):
    PENDING = "pending"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"
    ARCHIVED = "archived"


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def choices(statuses: type[StrEnum]) -> list[tuple[str, str]]:
    """Django/DRF ``choices`` for a status enum."""
    return [(status.value, status.value) for status in statuses]


@dataclass(frozen=True)
class StateMachine:
    """Allowed status changes of one model; ``initial`` is the only status to create with."""

    name: str
    initial: str
    transitions: Mapping[str, frozenset[str]]

    def allowed(self, from_status: str) -> frozenset[str]:
        """Statuses reachable in one step from ``from_status``."""
        return self.transitions.get(from_status, frozenset())

    def check(self, from_status: str | None, to_status: str) -> None:
        """Raise InvalidTransition unless ``from_status → to_status`` is allowed.

        ``from_status`` None means the object is being created.
        """
        if from_status is None:
            if to_status != self.initial:
                raise InvalidTransition(self.name, None, to_status)
            return
        if to_status not in self.allowed(from_status):
            raise InvalidTransition(self.name, from_status, to_status)


GENERATION_MACHINE = StateMachine(
    name="generated project",
    initial=GenerationStatus.PENDING,
    transitions={
        GenerationStatus.PENDING: frozenset({GenerationStatus.GENERATING}),
        GenerationStatus.GENERATING: frozenset({GenerationStatus.COMPLETED, GenerationStatus.FAILED}),
        GenerationStatus.COMPLETED: frozenset({GenerationStatus.ARCHIVED}),
        GenerationStatus.FAILED: frozenset(),
        GenerationStatus.ARCHIVED: frozenset(),
    },
)

EXPORT_MACHINE = StateMachine(
    name="repository export",
    initial=ExportStatus.PENDING,
    transitions={
        ExportStatus.PENDING: frozenset({ExportStatus.RUNNING, ExportStatus.FAILED}),
        ExportStatus.RUNNING: frozenset({ExportStatus.COMPLETED, ExportStatus.FAILED}),
        ExportStatus.COMPLETED: frozenset(),
        ExportStatus.FAILED: frozenset(),
    },
)

#: Generation statuses in which files may still be added or removed.
GENERATION_FILES_WRITABLE = frozenset({GenerationStatus.PENDING, GenerationStatus.GENERATING})


#: Choices lists, named so the OpenAPI schema can name their enums.
GENERATION_STATUS_CHOICES = choices(GenerationStatus)
EXPORT_STATUS_CHOICES = choices(ExportStatus)
