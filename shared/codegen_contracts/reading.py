"""The tolerant reader: what a consumer makes of a message from a producer of any release.

The producer is strict (``Envelope`` refuses unknown fields); a consumer reads with
``envelope_read``, which

- ignores envelope and payload fields it does not know (a producer one release ahead added them);
- upcasts an older version of a known type to the current one (``codegen_contracts.upcast``);
- answers ``PARKED`` for a version newer than it knows, never reading it as an older one;
- answers ``UNKNOWN_TYPE`` for a type it does not know;
- raises only for what no release of the contracts accepts (poison).

The caller keeps the raw message it received, so nothing the producer sent is lost.
"""

from __future__ import annotations

import threading
import types
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from codegen_contracts.envelope import Envelope
from codegen_contracts.errors import InvalidEnvelope, InvalidPayload
from codegen_contracts.events import EVENT_TYPES, EVENT_VERSIONS
from codegen_contracts.tracing import traceparent_parse
from codegen_contracts.upcast import payload_upcast


class ReadingOutcome(StrEnum):
    """What a consumer can do with a message it read."""

    #: A known type at a known version: the envelope carries the current version's payload.
    CURRENT = "current"
    #: A known type at a version newer than this consumer knows: keep it until an upgrade.
    PARKED = "parked"
    #: A type this consumer does not know.
    UNKNOWN_TYPE = "unknown_type"


class _TolerantEnvelope(Envelope, forbid_unknown_fields=False, frozen=True, kw_only=True):
    """``Envelope`` as a consumer reads it: unknown fields ignored, a malformed traceparent dropped later."""

    traceparent: str | None = None


@dataclass(frozen=True)
class EventReading:
    """One received message as read: the outcome, the envelope, the version it came in, why, and the raw data.

    When ``outcome`` is CURRENT, ``envelope.payload`` is the current version's payload (known fields
    only) as plain data and ``payload`` the same, typed; otherwise the payload is as received and
    ``payload`` is None.
    """

    outcome: ReadingOutcome
    envelope: Envelope
    received_version: int
    raw: Any
    reason: str = ""
    payload: msgspec.Struct | None = None


_tolerant_types: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}
_tolerant_lock = threading.Lock()


def _tolerant(payload_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``payload_type`` with unknown fields ignored instead of refused (made once, under a lock: a
    consumer's threads meet here at once on their first messages)."""
    tolerant = _tolerant_types.get(payload_type)
    if tolerant is None:
        with _tolerant_lock:
            tolerant = _tolerant_types.get(payload_type)
            if tolerant is None:
                tolerant = types.new_class(
                    payload_type.__name__,
                    (payload_type,),
                    {"forbid_unknown_fields": False, "frozen": True, "kw_only": True},
                )
                _tolerant_types[payload_type] = tolerant
    return tolerant


def envelope_read(data: Any) -> EventReading:
    """Read decoded JSON ``data`` (a dict) as a consumer: see the module's docstring.

    Raises InvalidEnvelope when the envelope's own known fields are missing or malformed, and
    InvalidPayload when a known version's payload breaks its schema or no upcaster reaches the current one.
    """
    try:
        head = msgspec.convert(data, _TolerantEnvelope)
    except msgspec.ValidationError as exc:
        raise InvalidEnvelope(f"envelope: {exc}") from None
    traceparent = traceparent_parse(head.traceparent)
    if traceparent != head.traceparent:  # a malformed one is dropped, not a reason to refuse the event
        head = msgspec.structs.replace(head, traceparent=traceparent)
    event_type, version = head.event_type, head.schema_version
    current = EVENT_TYPES.get(event_type)
    if current is None:
        return EventReading(
            ReadingOutcome.UNKNOWN_TYPE, head, version, data, f"event type {event_type!r} is not in this catalogue"
        )
    if version > current.version:
        return EventReading(
            ReadingOutcome.PARKED, head, version, data,
            f"{event_type} schema version {version} is newer than this catalogue's {current.version}",
        )  # fmt: skip
    spec = EVENT_VERSIONS.get((event_type, version))
    if spec is None:
        raise InvalidPayload(f"{event_type} schema version {version} is not in the catalogue")
    try:
        typed = msgspec.convert(head.payload, _tolerant(spec.payload_type))
    except msgspec.ValidationError as exc:
        raise InvalidPayload(f"{event_type} v{version} payload: {exc}") from None
    if version < current.version:
        try:
            typed = msgspec.convert(
                payload_upcast(event_type, version, msgspec.to_builtins(typed)), current.payload_type
            )
        except msgspec.ValidationError as exc:
            raise InvalidPayload(f"{event_type} upcast to v{current.version}: {exc}") from None
    envelope = msgspec.structs.replace(head, schema_version=current.version, payload=msgspec.to_builtins(typed))
    return EventReading(ReadingOutcome.CURRENT, envelope, version, data, payload=typed)


for _spec in EVENT_VERSIONS.values():  # the released catalogue's, made at import
    _tolerant(_spec.payload_type)
