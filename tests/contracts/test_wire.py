"""The wire format is defined once: its envelope is the contracts' Envelope, its message Dramatiq's."""

from __future__ import annotations

import dataclasses
import json

import dramatiq
import msgspec
import pytest

from codegen_contracts import (
    WIRE_FIELDS,
    Envelope,
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    WireMessage,
    envelope_from_builtins,
    message_encode,
    wire_envelope_check,
    wire_envelope_from_row,
)

PAYLOAD = {
    "project_id": 1,
    "project_name": "demo",
    "owner_id": 7,
    "notification_email": None,
    "webhook_url": None,
    "generated_project_id": 3,
    "from_status": None,
    "to_status": "pending",
    "total_files": 0,
    "total_size": 0,
}
ROW = {
    "event_id": "0b9f4a52-8f1c-4d8e-9a57-6c1d2f3e4a5b",
    "event_type": "generation.started",
    "schema_version": 1,
    "occurred_at": "2026-11-26T06:40:00.123456Z",
    "aggregate_type": "generated_project",
    "aggregate_id": "3",
    "sequence": 1,
    "correlation_id": "req-1",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "payload": json.dumps(PAYLOAD),
}


def test_wire_envelope_has_exactly_the_envelope_fields_in_order():
    assert Envelope.__struct_fields__ == WIRE_FIELDS


def test_wire_message_has_exactly_dramatiqs_message_fields():
    assert WireMessage.__struct_fields__ == tuple(field.name for field in dataclasses.fields(dramatiq.Message))


def test_a_row_read_by_name_encodes_to_a_valid_envelope_whatever_the_key_order():
    shuffled = dict(reversed(list(ROW.items())))
    data = message_encode(wire_envelope_from_row(shuffled), redis_message_id="r-1", timestamp_ms=5)
    message = dramatiq.Message.decode(data)
    assert message.message_id == ROW["event_id"] and message.options == {"redis_message_id": "r-1"}
    envelope = envelope_from_builtins(message.args[0])
    assert envelope.payload == PAYLOAD and envelope.aggregate_id == "3" and envelope.correlation_id == "req-1"


def test_a_missing_field_is_named():
    with pytest.raises(KeyError, match="sequence"):
        wire_envelope_from_row({k: v for k, v in ROW.items() if k != "sequence"})


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"event_type": "generation.exploded"}, UnknownEventType, "unknown event type"),
        ({"schema_version": 2}, InvalidEnvelope, "schema version 2"),
        ({"payload": json.dumps({**PAYLOAD, "total_size": -1})}, InvalidPayload, "total_size"),
        ({"payload": b"{not json"}, InvalidPayload, "payload"),
    ],
)
def test_check_refuses_what_breaks_the_contract(changes, error, reason):
    with pytest.raises(error, match=reason):
        wire_envelope_check(wire_envelope_from_row({**ROW, **changes}))


def test_the_raw_payload_passes_through_byte_for_byte():
    stored = '{"project_id": 1,   "project_name": "demo"}'
    data = message_encode(wire_envelope_from_row({**ROW, "payload": stored}), redis_message_id="r", timestamp_ms=1)
    assert stored.encode() in data
    assert msgspec.json.decode(data)["args"][0]["payload"] == json.loads(stored)
