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


#: Where a request keeps its correlation id (``correlation_id_keep``).
_REQUEST_ATTRIBUTE = "correlation_id"


def correlation_id_keep(request: object, value: str) -> None:
    """Keep ``value`` on ``request`` for the lines logged about it after its work ended (Django's
    ``django.request``, written after every middleware has returned)."""
    setattr(request, _REQUEST_ATTRIBUTE, value)


def correlation_id_of(request: object) -> str | None:
    """The correlation id ``correlation_id_keep`` kept on ``request``, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)


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
