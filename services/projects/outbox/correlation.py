"""Request context carried into every outbox row's headers: the correlation id and the W3C trace context.

The correlation id is taken from the request (or made up) and echoed back; the ``traceparent`` is
taken from the request when it is a valid one, and travels in the envelope to the notifier's webhooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from codegen_contracts import traceparent_parse

#: Request and response header that carries the correlation id.
CORRELATION_HEADER = "X-Correlation-ID"
#: Request header of the W3C Trace Context.
TRACEPARENT_HEADER = "traceparent"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def correlation_id_get() -> str | None:
    """Return the correlation id of the work in progress, if any."""
    return _current.get()


def correlation_id_set(value: str | None):
    """Set the correlation id of the work in progress; returns a token for reset."""
    return _current.set(value)


def correlation_id_reset(token) -> None:
    """Restore the correlation id that was current before ``correlation_id_set``."""
    _current.reset(token)


def traceparent_get() -> str | None:
    """Return the W3C ``traceparent`` of the work in progress, if its request carried a valid one."""
    return _traceparent.get()


class CorrelationIdMiddleware:
    """Adopt a well-formed X-Correlation-ID from the client or make one, echo it back; keep a valid traceparent."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        value = incoming if _VALID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_set(value)
        trace_token = _traceparent.set(traceparent_parse(request.headers.get(TRACEPARENT_HEADER)))
        try:
            response = self.get_response(request)
        finally:
            _traceparent.reset(trace_token)
            correlation_id_reset(token)
        response[CORRELATION_HEADER] = value
        return response
