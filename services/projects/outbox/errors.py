"""Errors of the outbox."""

from __future__ import annotations


class OutboxError(Exception):
    """Base class of outbox errors."""


class OutboxWriteOutsideTransaction(OutboxError):
    """An outbox row was written outside a transaction, so it could commit apart from its change."""


class EventedBulkWriteRefused(OutboxError):
    """A bulk write would change an evented field without writing its outbox rows."""


class InvalidFilter(OutboxError, ValueError):
    """An operator's filter that cannot be understood (the message says which part and why)."""


class ReplayRefused(OutboxError):
    """A replay that may not run as asked (no reason given, nothing selected, no confirmation)."""


class NothingMatched(OutboxError):
    """A replay that would act on nothing: ``missing`` holds the event ids asked for that do not exist (all of
    them are named, and nothing is done), else the filter matched no row."""

    def __init__(self, message: str, *, missing: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class PublishError(OutboxError):
    """A publish attempt failed for reasons that may pass (broker unreachable, out of memory)."""


class RelayStopping(OutboxError):
    """The relay was asked to stop while waiting between publish tries."""
