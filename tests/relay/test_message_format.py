"""The relay's messages are standard Dramatiq messages carrying a valid envelope."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dramatiq
import pytest
import redis

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE, ContractError, envelope_from_builtins
from outbox.publisher import prepare
from outbox.store import ClaimedRow
from tests.relay.bulk import PAYLOAD

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def row(**changes) -> ClaimedRow:
    values = {
        "id": 7,
        "event_id": "0b9f4a52-8f1c-4d8e-9a57-6c1d2f3e4a5b",
        "event_type": "generation.started",
        "schema_version": 1,
        "aggregate_type": "generated_project",
        "aggregate_id": "12",
        "sequence": 1,
        "payload": json.dumps(PAYLOAD),
        "correlation_id": "req-9",
        "traceparent": None,
        "occurred_at": "2026-11-26T06:40:00.123456Z",
        "attempts": 0,
        "due_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
    return ClaimedRow.from_mapping({**values, **changes})


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
        ({"payload": json.dumps({**PAYLOAD, "total_size": -1})}, "total_size"),
        ({"payload": "{not json"}, "payload"),
        ({"schema_version": 2}, "schema version"),
    ],
)
def test_rows_that_break_their_contract_are_refused(changes, reason):
    with pytest.raises(ContractError, match=reason):
        prepare(row(**changes), "x")


def test_enqueue_script_args_store_what_dramatiqs_own_enqueue_stores(redis_url):
    # given the same message enqueued by Dramatiq's RedisBroker and by the relay's publisher
    from dramatiq.brokers.redis import RedisBroker

    from outbox.publisher import DramatiqRedisPublisher

    client = redis.Redis.from_url(redis_url)
    broker = RedisBroker(client=client, namespace="theirs")
    sent = broker.enqueue(dramatiq.Message.decode(prepare(row(), "unused").data))
    theirs_id = sent.options["redis_message_id"]
    publisher = DramatiqRedisPublisher(redis_url, namespace="ours")
    assert publisher.publish([prepare(row(), theirs_id)]) == []
    # then Redis holds the same keys, the same queue entry and the same message (but its timestamp)
    for namespace in ("theirs", "ours"):
        assert client.lrange(f"{namespace}:{EVENTS_QUEUE}", 0, -1) == [theirs_id.encode()]
    ours_message = json.loads(client.hget(f"ours:{EVENTS_QUEUE}.msgs", theirs_id))
    theirs_message = json.loads(client.hget(f"theirs:{EVENTS_QUEUE}.msgs", theirs_id))
    for message in (ours_message, theirs_message):
        message.pop("message_timestamp")
    assert ours_message == theirs_message
    keys = {
        namespace: sorted(k.decode().split(":", 1)[1] for k in client.keys(f"{namespace}:*"))
        for namespace in ("theirs", "ours")
    }
    assert keys["theirs"] == keys["ours"]
    publisher.close()
    client.close()


@pytest.mark.django_db
def test_a_claim_reads_its_columns_by_name_the_same_on_both_paths():
    # given one stored event with distinct values in every text column
    from outbox.models import OutboxEvent
    from outbox.store import _ORM_FIELDS, _orm_wire_values, outbox_rows_claim
    from tests.relay.bulk import pending_rows_insert

    pending_rows_insert(1)
    OutboxEvent.objects.update(aggregate_id="agg-77", headers={"correlation_id": "corr-5", "traceparent": TRACEPARENT})
    # when PostgreSQL claims it, and the ORM path reads it
    (claimed,) = outbox_rows_claim(limit=10, lease_seconds=30)
    orm = ClaimedRow.from_mapping(_orm_wire_values(OutboxEvent.objects.values(*_ORM_FIELDS).get()))
    # then both give the same envelope, field by field
    assert claimed.envelope.aggregate_id == "agg-77" and claimed.envelope.correlation_id == "corr-5"
    assert claimed.envelope.traceparent == TRACEPARENT
    for name in ("event_id", "event_type", "schema_version", "aggregate_type", "aggregate_id", "sequence",
                 "correlation_id", "traceparent"):  # fmt: skip
        assert getattr(claimed.envelope, name) == getattr(orm.envelope, name), name
    assert json.loads(bytes(claimed.envelope.payload)) == json.loads(bytes(orm.envelope.payload))
    assert claimed.envelope.occurred_at == orm.envelope.occurred_at


def test_a_postgresql_claim_returns_every_field_of_the_envelope():
    from codegen_contracts import WIRE_FIELDS
    from outbox.store import PG_WIRE_COLUMNS

    assert tuple(PG_WIRE_COLUMNS) == WIRE_FIELDS
