"""Guarantee 7, the contracts' side: the tolerant reader and the upcasters, as pure functions."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from codegen_contracts import (
    EVENT_TYPES,
    EVENT_VERSIONS,
    UPCASTERS,
    EventSpec,
    GenerationPayload,
    InvalidEnvelope,
    InvalidPayload,
    ReadingOutcome,
    envelope_read,
    payload_upcast,
    traceparent_parse,
)
from codegen_contracts.upcast import catalogue_gaps

PAYLOAD = {
    "project_id": 1, "project_name": "demo", "owner_id": 7, "notification_email": None, "webhook_url": None,
    "generated_project_id": 3, "from_status": "generating", "to_status": "completed", "total_files": 2,
    "total_size": 10,
}  # fmt: skip
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def data(**changes: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()), "event_type": "generation.completed", "schema_version": 1,
        "occurred_at": "2026-11-26T06:40:00Z", "aggregate_type": "generated_project", "aggregate_id": "3",
        "sequence": 4, "correlation_id": None, "payload": PAYLOAD, **changes,
    }  # fmt: skip


def test_unknown_envelope_and_payload_fields_are_ignored():
    reading = envelope_read(data(priority="high", payload={**PAYLOAD, "build_host": "ci"}))
    assert reading.outcome is ReadingOutcome.CURRENT
    assert reading.envelope.payload == PAYLOAD and isinstance(reading.payload, GenerationPayload)
    assert reading.raw["priority"] == "high"  # the raw message keeps what the reader ignored


def test_a_newer_version_is_parked_not_read_as_the_current_one():
    reading = envelope_read(data(schema_version=2))
    assert reading.outcome is ReadingOutcome.PARKED and reading.payload is None
    assert reading.received_version == 2 and "newer" in reading.reason


def test_an_unknown_type_is_reported_as_such():
    reading = envelope_read(data(event_type="generation.teleported", payload={"anything": 1}))
    assert reading.outcome is ReadingOutcome.UNKNOWN_TYPE and "generation.teleported" in reading.reason


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"event_id": "garbage"}, InvalidEnvelope),
        ({"sequence": 0}, InvalidEnvelope),
        ({"schema_version": 0}, InvalidEnvelope),
        ({"payload": {**PAYLOAD, "total_files": "two"}}, InvalidPayload),
        ({"payload": {k: v for k, v in PAYLOAD.items() if k != "owner_id"}}, InvalidPayload),
    ],
)
def test_what_no_release_accepts_is_refused(changes, error):
    with pytest.raises(error):
        envelope_read(data(**changes))


def test_a_malformed_traceparent_is_dropped_and_a_valid_one_kept():
    assert envelope_read(data(traceparent="00-xyz")).envelope.traceparent is None
    assert envelope_read(data(traceparent=TRACEPARENT)).envelope.traceparent == TRACEPARENT


def test_traceparent_parsing_follows_the_w3c_rules():
    assert traceparent_parse(TRACEPARENT) == TRACEPARENT
    assert traceparent_parse(f"cc{TRACEPARENT[2:]}-what-comes-next") == f"cc{TRACEPARENT[2:]}"
    invalid = [
        None, "", f"{TRACEPARENT}-x", f"ff{TRACEPARENT[2:]}", TRACEPARENT.upper(), TRACEPARENT[:-1],
        f"cc{TRACEPARENT[2:]}x", "00-" + "0" * 32 + TRACEPARENT[35:], TRACEPARENT[:36] + "0" * 16 + "-01",
    ]  # fmt: skip
    for bad in invalid:
        assert traceparent_parse(bad) is None, bad


class PayloadV2(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    total_bytes: int


@pytest.fixture
def version_two(monkeypatch):
    spec = EventSpec("generation.completed", 2, "generated_project", PayloadV2)
    monkeypatch.setitem(EVENT_VERSIONS, ("generation.completed", 2), spec)
    monkeypatch.setitem(EVENT_TYPES, "generation.completed", spec)


def test_an_older_version_is_upcast_step_by_step(version_two, monkeypatch):
    monkeypatch.setitem(
        UPCASTERS,
        ("generation.completed", 1),
        lambda p: {"project_id": p["project_id"], "total_bytes": p["total_size"]},
    )
    reading = envelope_read(data())
    assert reading.outcome is ReadingOutcome.CURRENT and reading.received_version == 1
    assert reading.envelope.schema_version == 2 and reading.payload == PayloadV2(project_id=1, total_bytes=10)


def test_a_missing_upcaster_is_named(version_two):
    assert catalogue_gaps() == ["generation.completed v1: no upcaster to v2"]
    with pytest.raises(InvalidPayload, match="no upcaster from version 1 to 2"):
        payload_upcast("generation.completed", 1, PAYLOAD)


def test_the_released_catalogue_has_a_schema_and_an_upcaster_for_every_older_version():
    assert catalogue_gaps() == []
