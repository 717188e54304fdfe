"""The shared contracts: envelopes round-trip through JSON and bad data is refused with a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from codegen_contracts import (
    EVENT_TYPES,
    Envelope,
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    envelope_decode,
    envelope_encode,
    envelope_from_builtins,
    payload_validate,
)
from codegen_contracts import events as catalogue

GENERATION = {
    "project_id": 1,
    "project_name": "demo",
    "owner_id": 7,
    "notification_email": "team@example.com",
    "webhook_url": None,
    "generated_project_id": 3,
    "from_status": "generating",
    "to_status": "completed",
    "total_files": 2,
    "total_size": 1024,
}
EXPORT = {
    **{k: v for k, v in GENERATION.items() if k not in {"total_files", "total_size"}},
    "export_id": 9,
    "repository_url": "https://git.example.com/demo.git",
    "from_status": "running",
    "to_status": "failed",
    "error": "remote rejected the push",
}


def envelope(event_type: str = catalogue.GENERATION_COMPLETED, payload: dict | None = None) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=1,
        occurred_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        aggregate_type=catalogue.AGGREGATE_GENERATED_PROJECT,
        aggregate_id="3",
        sequence=4,
        correlation_id="req-1",
        payload=GENERATION if payload is None else payload,
    )


def test_envelope_round_trips_through_json():
    original = envelope()
    assert envelope_decode(envelope_encode(original)) == original


def test_export_envelope_round_trips_through_builtins():
    original = envelope(catalogue.EXPORT_FAILED, EXPORT)
    assert envelope_from_builtins(msgspec.to_builtins(original)) == original


def test_every_type_is_stable_and_has_a_version_and_aggregate():
    assert set(EVENT_TYPES) == {
        "generation.started",
        "generation.running",
        "generation.completed",
        "generation.failed",
        "generation.archived",
        "export.requested",
        "export.running",
        "export.completed",
        "export.failed",
        "project.webhook_secret_rotated",
    }
    for spec in EVENT_TYPES.values():
        assert spec.version >= 1
        assert spec.aggregate_type in {
            catalogue.AGGREGATE_GENERATED_PROJECT, catalogue.AGGREGATE_REPOSITORY_EXPORT, catalogue.AGGREGATE_PROJECT,
        }  # fmt: skip


def test_unknown_type_is_refused():
    with pytest.raises(UnknownEventType, match=r"generation\.exploded"):
        payload_validate("generation.exploded", GENERATION)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_size": -1}, "total_size"),
        ({"project_id": "1"}, "project_id"),
        ({"secret_token": "x"}, "secret_token"),
        ({"to_status": None}, "to_status"),
    ],
)
def test_bad_payload_names_the_field(change, field):
    with pytest.raises(InvalidPayload, match=field):
        payload_validate(catalogue.GENERATION_COMPLETED, {**GENERATION, **change})


@pytest.mark.parametrize(
    ("event_type", "payload", "field", "limit"),
    [
        (catalogue.GENERATION_COMPLETED, GENERATION, "project_name", 200),
        (catalogue.GENERATION_COMPLETED, GENERATION, "notification_email", 254),
        (catalogue.GENERATION_COMPLETED, GENERATION, "webhook_url", 2048),
        (catalogue.EXPORT_FAILED, EXPORT, "repository_url", 2048),
        (catalogue.EXPORT_FAILED, EXPORT, "error", 10_000),
    ],
)
def test_text_fields_are_bounded_as_the_producer_stores_them(event_type, payload, field, limit):
    assert payload_validate(event_type, {**payload, field: "x" * limit})[field] == "x" * limit
    with pytest.raises(InvalidPayload, match=rf"length <= {limit} - at `\$\.{field}`"):
        payload_validate(event_type, {**payload, field: "x" * (limit + 1)})


def test_missing_payload_field_is_named():
    payload = dict(GENERATION)
    del payload["owner_id"]
    with pytest.raises(InvalidPayload, match="owner_id"):
        payload_validate(catalogue.GENERATION_COMPLETED, payload)


@pytest.mark.parametrize("raw", [b"not json", b"{}", b'{"event_id": "nope"}', b"[1, 2]"])
def test_malformed_envelope_is_refused(raw):
    with pytest.raises(InvalidEnvelope):
        envelope_decode(raw)


def test_naive_timestamp_is_refused():
    data = msgspec.to_builtins(envelope())
    data["occurred_at"] = "2026-11-26T12:00:00"
    with pytest.raises(InvalidEnvelope, match="occurred_at"):
        envelope_from_builtins(data)


def test_contracts_import_neither_django_nor_dramatiq():
    import subprocess
    import sys

    code = (
        "import sys, codegen_contracts; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'django', 'dramatiq'}]; "
        "sys.exit(', '.join(bad) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
