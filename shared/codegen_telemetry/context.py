"""The ids of the work in progress that every log line carries: the correlation id and the event id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_event_id: ContextVar[str | None] = ContextVar("event_id", default=None)
_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)


def correlation_id_get() -> str | None:
    """Return the correlation id of the work in progress, if any."""
    return _correlation_id.get()


def correlation_id_set(value: str | None) -> Token[str | None]:
    """Set the correlation id of the work in progress; returns a token for ``correlation_id_reset``."""
    return _correlation_id.set(value)


def correlation_id_reset(token: Token[str | None]) -> None:
    """Restore the correlation id that was current before ``correlation_id_set``."""
    _correlation_id.reset(token)


def event_id_get() -> str | None:
    """Return the id of the event being handled, if any."""
    return _event_id.get()


def trace_id_get() -> str | None:
    """Return the trace id the event being handled came with (its ``traceparent``'s), if any."""
    return _trace_id.get()


@contextmanager
def log_context(*, event_id: str | None, correlation_id: str | None, traceparent: str | None = None) -> Iterator[None]:
    """Within the block, log lines carry ``event_id``, ``correlation_id`` and the trace id of
    ``traceparent`` (the event being handled; a current span's trace id wins when tracing is on)."""
    event_token = _event_id.set(event_id)
    correlation_token = _correlation_id.set(correlation_id)
    trace_token = _trace_id.set(traceparent[3:35] if traceparent else None)
    try:
        yield
    finally:
        _trace_id.reset(trace_token)
        _correlation_id.reset(correlation_token)
        _event_id.reset(event_token)
