"""Errors raised by the contracts package."""

from __future__ import annotations


class ContractError(ValueError):
    """Base class: data does not satisfy an event contract."""


class UnknownEventType(ContractError):
    """The event type is not declared in the catalogue."""


class InvalidPayload(ContractError):
    """A payload does not match the schema of its event type and version."""


class InvalidEnvelope(ContractError):
    """A message cannot be decoded into an envelope."""
