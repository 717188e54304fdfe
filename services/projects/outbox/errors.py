"""Errors of the outbox."""

from __future__ import annotations


class OutboxError(Exception):
    """Base class of outbox errors."""


class OutboxWriteOutsideTransaction(OutboxError):
    """An outbox row was written outside a transaction, so it could commit apart from its change."""


class EventedBulkWriteRefused(OutboxError):
    """A bulk write would change an evented field without writing its outbox rows."""
