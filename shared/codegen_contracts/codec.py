"""JSON encoding and decoding of envelopes, and payload validation against the catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from codegen_contracts.envelope import Envelope
from codegen_contracts.errors import InvalidEnvelope, InvalidPayload
from codegen_contracts.events import event_spec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def payload_validate(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``payload`` against the schema of ``event_type`` and return it as plain data.

    Raises UnknownEventType for an uncatalogued type and InvalidPayload naming the bad field.
    """
    spec = event_spec(event_type)
    try:
        typed = msgspec.convert(dict(payload), spec.payload_type)
    except msgspec.ValidationError as exc:
        raise InvalidPayload(f"{event_type} payload: {exc}") from None
    result: dict[str, Any] = msgspec.to_builtins(typed)
    return result


def payload_validate_json(event_type: str, payload_json: bytes | str) -> None:
    """Validate a JSON-encoded payload against the schema of ``event_type`` without building it.

    The fast path for publishers that pass the stored JSON through unchanged. Raises
    UnknownEventType or InvalidPayload naming the bad field.
    """
    spec = event_spec(event_type)
    try:
        msgspec.json.decode(payload_json, type=spec.payload_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidPayload(f"{event_type} payload: {exc}") from None


def envelope_encode(envelope: Envelope) -> bytes:
    """Encode an envelope as JSON bytes after validating its payload."""
    payload_validate(envelope.event_type, envelope.payload)
    return _encoder.encode(envelope)


def envelope_from_builtins(data: Any) -> Envelope:
    """Build an envelope from decoded JSON data (a dict), validating envelope and payload.

    Raises InvalidEnvelope, UnknownEventType or InvalidPayload.
    """
    try:
        envelope = msgspec.convert(data, Envelope)
    except msgspec.ValidationError as exc:
        raise InvalidEnvelope(f"envelope: {exc}") from None
    payload_validate(envelope.event_type, envelope.payload)
    return envelope


def envelope_decode(data: bytes | str) -> Envelope:
    """Decode JSON into an envelope, validating envelope and payload.

    Raises InvalidEnvelope, UnknownEventType or InvalidPayload.
    """
    try:
        envelope = _decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidEnvelope(f"envelope: {exc}") from None
    payload_validate(envelope.event_type, envelope.payload)
    return envelope
