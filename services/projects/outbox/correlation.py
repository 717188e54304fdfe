"""Request context carried into every outbox row's headers: the correlation id and the W3C trace context.

The correlation id is taken from the request (or made up) and echoed back; the ``traceparent`` is
the current span's when tracing is on, else the request's when it is a valid one, and travels in the
envelope to the relay, the notifier and its webhooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from codegen_contracts import traceparent_parse
from codegen_telemetry import correlation_id_keep, correlation_id_reset, correlation_id_set, traceparent_current

#: Request and response header that carries the correlation id.
CORRELATION_HEADER = "X-Correlation-ID"
#: Request header of the W3C Trace Context.
TRACEPARENT_HEADER = "traceparent"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def traceparent_get() -> str | None:
    """Return the W3C ``traceparent`` of the work in progress: the current span's when tracing is
    on, else the one its request carried if valid."""
    return traceparent_current() or _traceparent.get()


class CorrelationIdMiddleware:
    """Adopt a well-formed X-Correlation-ID from the client or make one, echo it back; keep a valid traceparent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        value = incoming if _VALID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_set(value)
        correlation_id_keep(request, value)
        trace_token = _traceparent.set(traceparent_parse(request.headers.get(TRACEPARENT_HEADER)))
        try:
            response = self.get_response(request)
        finally:
            _traceparent.reset(trace_token)
            correlation_id_reset(token)
        response[CORRELATION_HEADER] = value
        return response
