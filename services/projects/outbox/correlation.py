"""Correlation ids: taken from the request (or made up), carried into every outbox row's headers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

#: Request and response header that carries the correlation id.
CORRELATION_HEADER = "X-Correlation-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id_get() -> str | None:
    """Return the correlation id of the work in progress, if any."""
    return _current.get()


def correlation_id_set(value: str | None):
    """Set the correlation id of the work in progress; returns a token for reset."""
    return _current.set(value)


def correlation_id_reset(token) -> None:
    """Restore the correlation id that was current before ``correlation_id_set``."""
    _current.reset(token)


class CorrelationIdMiddleware:
    """Adopt a well-formed X-Correlation-ID from the client or make one; echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        value = incoming if _VALID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_set(value)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_reset(token)
        response[CORRELATION_HEADER] = value
        return response
