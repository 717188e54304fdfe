"""The W3C trace context of a request, carried into every outbox row its work writes.

The ``traceparent`` is the current span's when tracing is on, else the request's when it is a valid
one, and travels in the envelope to the relay, the notifier and its webhooks. (The request's
correlation id, which the rows carry too, is ``codegen_telemetry.web.CorrelationIdMiddleware``'s.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from codegen_contracts import traceparent_parse
from codegen_telemetry import traceparent_current

#: Request header of the W3C Trace Context.
TRACEPARENT_HEADER = "traceparent"
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def traceparent_get() -> str | None:
    """Return the W3C ``traceparent`` of the work in progress: the current span's when tracing is
    on, else the one its request carried if valid."""
    return traceparent_current() or _traceparent.get()


class TraceparentMiddleware:
    """Keep the request's ``traceparent``, if valid, for the outbox rows written while it is handled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _traceparent.set(traceparent_parse(request.headers.get(TRACEPARENT_HEADER)))
        try:
            return self.get_response(request)
        finally:
            _traceparent.reset(token)
