"""The wire format: an envelope as it travels, the Dramatiq message carrying it, and how it is enqueued.

One definition for every producer (the relay, an operator's replay, the benchmarks and tests):

- ``WireEnvelope`` is ``Envelope`` with the payload kept as the raw JSON it was stored as, so a
  producer passes it through unchanged instead of decoding and re-encoding it;
- ``wire_envelope_from_row`` builds one from a stored event *by field name* (a mapping), never by
  position, and ``wire_envelope_check`` validates it against the catalogue;
- ``message_encode`` writes the standard Dramatiq message (``dramatiq.Message.asdict()``'s shape)
  whose one argument is the envelope and whose message id is the event id;
- ``enqueue_script_args`` builds the arguments of Dramatiq's Redis ``dispatch`` script for one
  ``enqueue``, which is how a message is put on a queue in one pipelined call.

Neither Django nor Dramatiq is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from codegen_contracts.codec import payload_validate_json
from codegen_contracts.errors import InvalidEnvelope
from codegen_contracts.events import event_spec
from codegen_contracts.messaging import EVENTS_ACTOR, EVENTS_QUEUE


class WireEnvelope(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``Envelope`` as it travels: the same fields in the same order, the payload as raw JSON.

    ``event_id`` is the UUID as text and ``occurred_at`` RFC 3339 text with its zone. An optional
    field without a value is left out, so a consumer that predates it reads the event as before.
    """

    event_id: str
    event_type: str
    schema_version: int
    occurred_at: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    correlation_id: str | None = None
    traceparent: str | None = None
    payload: msgspec.Raw


class WireMessage(msgspec.Struct, kw_only=True):
    """A Dramatiq message (the fields ``dramatiq.Message.asdict()`` has) carrying one envelope."""

    queue_name: str
    actor_name: str
    args: tuple[WireEnvelope]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    message_id: str
    message_timestamp: int


#: The envelope's field names, in order: the keys ``wire_envelope_from_row`` reads.
WIRE_FIELDS: tuple[str, ...] = WireEnvelope.__struct_fields__

_encoder = msgspec.json.Encoder()


def wire_envelope_from_row(row: Mapping[str, Any]) -> WireEnvelope:
    """Build the envelope of a stored event from its fields by name (``WIRE_FIELDS``).

    ``payload`` is the stored JSON (text or bytes), passed through as is; nothing is validated
    here (see ``wire_envelope_check``). Raises KeyError naming a missing field.
    """
    payload = row["payload"]
    return WireEnvelope(
        event_id=str(row["event_id"]),
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        occurred_at=row["occurred_at"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        sequence=row["sequence"],
        correlation_id=row["correlation_id"],
        traceparent=row["traceparent"],
        payload=msgspec.Raw(payload.encode() if isinstance(payload, str) else payload),
    )


def wire_envelope_check(envelope: WireEnvelope) -> None:
    """Validate the envelope's type, version and payload against the catalogue.

    Raises UnknownEventType, InvalidEnvelope (a version the catalogue does not have) or
    InvalidPayload naming the bad field.
    """
    spec = event_spec(envelope.event_type)
    if envelope.schema_version != spec.version:
        raise InvalidEnvelope(
            f"{envelope.event_type} has schema version {envelope.schema_version}, expected {spec.version}"
        )
    payload_validate_json(envelope.event_type, bytes(envelope.payload))


def message_encode(envelope: WireEnvelope, *, redis_message_id: str, timestamp_ms: int) -> bytes:
    """Encode the Dramatiq message for ``envelope`` on ``EVENTS_QUEUE`` for ``EVENTS_ACTOR``.

    Its message id is the event id; ``redis_message_id`` (unique per enqueue) is what Dramatiq's
    Redis broker acknowledges it by.
    """
    return _encoder.encode(
        WireMessage(
            queue_name=EVENTS_QUEUE,
            actor_name=EVENTS_ACTOR,
            args=(envelope,),
            kwargs={},
            options={"redis_message_id": redis_message_id},
            message_id=envelope.event_id,
            message_timestamp=timestamp_ms,
        )
    )


#: Passed where Dramatiq's dispatch script expects its max unpack size; ``enqueue`` does not use it.
_UNUSED_MAX_UNPACK = 1


def enqueue_script_args(
    *,
    queue_name: str,
    redis_message_id: str,
    data: bytes,
    now_ms: int,
    broker_id: str,
    heartbeat_timeout_ms: int,
    dead_message_ttl_ms: int,
) -> list[Any]:
    """The ARGV of Dramatiq's Redis ``dispatch`` script for enqueuing one encoded message.

    Its one KEY is the broker's namespace. This mirrors ``RedisBroker.enqueue`` of the pinned
    Dramatiq (a test enqueues both ways and compares what Redis holds).
    """
    return [
        "enqueue",
        now_ms,
        queue_name,
        broker_id,
        heartbeat_timeout_ms,
        dead_message_ttl_ms,
        0,  # do_maintenance: the relay never asks the script to sweep dead workers
        _UNUSED_MAX_UNPACK,
        redis_message_id,
        data,
    ]
