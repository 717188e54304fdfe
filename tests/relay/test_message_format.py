"""The relay's messages are standard Dramatiq messages carrying a valid envelope."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dramatiq
import pytest

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, ContractError, envelope_from_builtins
from outbox.publisher import prepare
from outbox.store import ClaimedRow
from tests.relay.bulk import PAYLOAD


def row(**changes) -> ClaimedRow:
    values = {
        "id": 7,
        "event_id": "0b9f4a52-8f1c-4d8e-9a57-6c1d2f3e4a5b",
        "event_type": "generation.started",
        "schema_version": 1,
        "aggregate_type": "generated_project",
        "aggregate_id": "12",
        "sequence": 1,
        "payload_json": json.dumps(PAYLOAD),
        "correlation_id": "req-9",
        "occurred_at": "2026-11-26T06:40:00.123456Z",
        "attempts": 0,
        "due_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    return ClaimedRow(**{**values, **changes})


def test_message_decodes_as_a_dramatiq_message_with_a_valid_envelope():
    prepared = prepare(row(), "batch-0")
    message = dramatiq.Message.decode(prepared.data)
    assert message.queue_name == EVENTS_QUEUE and message.actor_name == EVENTS_ACTOR
    assert message.message_id == "0b9f4a52-8f1c-4d8e-9a57-6c1d2f3e4a5b"
    assert message.options == {"redis_message_id": "batch-0"}
    assert message.kwargs == {}
    envelope = envelope_from_builtins(message.args[0])
    assert str(envelope.event_id) == message.message_id
    assert envelope.payload == PAYLOAD
    assert envelope.correlation_id == "req-9" and envelope.sequence == 1
    assert envelope.occurred_at == datetime(2026, 11, 26, 6, 40, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"event_type": "generation.exploded"}, "unknown event type"),
        ({"payload_json": json.dumps({**PAYLOAD, "total_size": -1})}, "total_size"),
        ({"payload_json": "{not json"}, "payload"),
        ({"schema_version": 2}, "schema version"),
    ],
)
def test_rows_that_break_their_contract_are_refused(changes, reason):
    with pytest.raises(ContractError, match=reason):
        prepare(row(**changes), "x")
