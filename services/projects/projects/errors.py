"""Errors of the projects domain."""

from __future__ import annotations


class ProjectsError(Exception):
    """Base class of domain errors."""


class InvalidTransition(ProjectsError, ValueError):
    """A status change the state machine does not allow."""

    def __init__(self, machine: str, from_status: str | None, to_status: str) -> None:
        self.machine = machine
        self.from_status = from_status
        self.to_status = to_status
        if from_status is None:
            message = f"a {machine} must be created as its initial status, not {to_status!r}"
        else:
            message = f"a {machine} cannot go from {from_status!r} to {to_status!r}"
        super().__init__(message)


class NotWritable(ProjectsError):
    """The object's state forbids this change (e.g. files of a finished generation)."""


class InvalidFilePath(ProjectsError, ValueError):
    """A file path that is not a normalized relative path."""


class DuplicateFilePath(ProjectsError):
    """A file path given twice in one request, or already stored in the generated project: a conflict (409),
    as the second of two creations of one path would be."""

    def __init__(self, path: str | None, index: int | None, reason: str) -> None:
        self.path = path
        self.index = index
        self.reason = reason
        super().__init__(f"path {path!r} {reason}" if path is not None else f"a path {reason}")
