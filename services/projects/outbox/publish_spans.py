"""The relay's spans (and DEBUG log lines): one per event it publishes, each continuing the trace its envelope names.

With tracing on, the envelope sent carries the publish span's ``traceparent`` instead of the
outbox write's, so the notifier's spans follow the publish; the stored row is not changed.
"""

from __future__ import annotations

import logging

from opentelemetry.trace import SpanKind

from codegen_contracts import EVENTS_QUEUE
from codegen_telemetry import log_context, span_end, span_start, traceparent_of
from outbox.store import ClaimedRow

logger = logging.getLogger("outbox.relay")


class PublishSpans:
    """The publish spans of one batch, by outbox row id (empty when tracing is off)."""

    def __init__(self) -> None:
        self._spans: dict[int, object] = {}

    def start(self, row: ClaimedRow) -> str | None:
        """Start ``row``'s publish span; return its ``traceparent`` (None when tracing is off)."""
        envelope = row.envelope
        current = span_start(
            f"{EVENTS_QUEUE} publish",
            traceparent=envelope.traceparent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.operation.type": "send",
                "messaging.destination.name": EVENTS_QUEUE,
                "messaging.message.id": envelope.event_id,
                "event.type": envelope.event_type,
                "outbox.attempt": row.attempts + 1,
            },
        )
        if current is None:
            return None
        self._spans[row.id] = current
        return traceparent_of(current)

    def end(self, rows: list[ClaimedRow], *, error: str | None = None) -> None:
        """End the spans of ``rows``, marked failed with ``error`` when given; at DEBUG, log each row's outcome."""
        if logger.isEnabledFor(logging.DEBUG):
            for row in rows:
                envelope = row.envelope
                with log_context(event_id=envelope.event_id, correlation_id=envelope.correlation_id,
                                 traceparent=envelope.traceparent):  # fmt: skip
                    logger.debug("outbox row published" if error is None else "outbox row not published",
                                 extra={"event_type": envelope.event_type, "error": error})  # fmt: skip
        if not self._spans:
            return
        for row in rows:
            span_end(self._spans.pop(row.id, None), error=error)  # type: ignore[arg-type]
