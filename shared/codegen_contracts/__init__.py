"""Event contracts shared by the projects service and the notifier.

Neither Django nor Dramatiq is imported here: both services depend on this package and on
nothing of each other.
"""

from __future__ import annotations

from codegen_contracts.codec import (
    envelope_decode,
    envelope_encode,
    envelope_from_builtins,
    payload_validate,
    payload_validate_json,
)
from codegen_contracts.envelope import Envelope
from codegen_contracts.errors import ContractError, InvalidEnvelope, InvalidPayload, UnknownEventType
from codegen_contracts.events import (
    EVENT_TYPES,
    EVENT_VERSIONS,
    EventSpec,
    ExportPayload,
    GenerationPayload,
    SecretRotatedPayload,
    event_spec,
)
from codegen_contracts.messaging import EVENTS_ACTOR, EVENTS_QUEUE, envelope_to_builtins
from codegen_contracts.reading import EventReading, ReadingOutcome, envelope_read
from codegen_contracts.tracing import traceparent_parse
from codegen_contracts.upcast import UPCASTERS, payload_upcast
from codegen_contracts.wire import (
    WIRE_FIELDS,
    WireEnvelope,
    WireMessage,
    enqueue_script_args,
    message_encode,
    wire_envelope_check,
    wire_envelope_from_row,
)

__all__ = [
    "EVENTS_ACTOR",
    "EVENTS_QUEUE",
    "EVENT_TYPES",
    "EVENT_VERSIONS",
    "UPCASTERS",
    "WIRE_FIELDS",
    "ContractError",
    "Envelope",
    "EventReading",
    "EventSpec",
    "ExportPayload",
    "GenerationPayload",
    "InvalidEnvelope",
    "InvalidPayload",
    "ReadingOutcome",
    "SecretRotatedPayload",
    "UnknownEventType",
    "WireEnvelope",
    "WireMessage",
    "enqueue_script_args",
    "envelope_decode",
    "envelope_encode",
    "envelope_from_builtins",
    "envelope_read",
    "envelope_to_builtins",
    "event_spec",
    "message_encode",
    "payload_upcast",
    "payload_validate",
    "payload_validate_json",
    "traceparent_parse",
    "wire_envelope_check",
    "wire_envelope_from_row",
]
