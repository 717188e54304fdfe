"""The envelope every event travels in, whatever its type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from codegen_contracts.tracing import TRACEPARENT_PATTERN

#: A timezone-aware timestamp.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
#: A non-empty short identifier string.
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
#: A W3C ``traceparent`` (version-00 layout).
Traceparent = Annotated[str, msgspec.Meta(pattern=TRACEPARENT_PATTERN)]


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One event: identity, type and version, origin, ordering, tracing and the payload.

    ``event_id`` is the idempotency key; ``sequence`` orders events of one aggregate. This is the
    producer's strict form: an unknown field is refused. Consumers read with ``envelope_read``.
    """

    event_id: uuid.UUID
    event_type: ShortText
    schema_version: Annotated[int, msgspec.Meta(ge=1)]
    occurred_at: AwareDatetime
    aggregate_type: ShortText
    aggregate_id: ShortText
    sequence: Annotated[int, msgspec.Meta(ge=1)]
    correlation_id: str | None = None
    traceparent: Traceparent | None = None
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
