"""What a Django service's web side shares: its WSGI application, traced when tracing is on (gunicorn
and runserver), and each request's correlation id."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from typing import Any

from codegen_telemetry.context import correlation_id_keep, correlation_id_reset, correlation_id_set
from codegen_telemetry.tracing import tracing_configure

#: Request and response header that carries the correlation id.
CORRELATION_HEADER = "X-Correlation-ID"
#: The form in which a client's correlation id is adopted; any other is replaced by a new one.
_CORRELATION_FORM = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: Paths whose requests get no span unless OTEL_PYTHON_DJANGO_EXCLUDED_URLS says otherwise (probes, scrapes).
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


def wsgi_application(service_name: str) -> Any:
    """Set Django up, turn tracing on if the environment asks (``tracing_configure``) and, if it is
    on, give every request a server span (OpenTelemetry's Django instrumentation) that continues a
    client's ``traceparent``; return the WSGI handler.

    Called in each gunicorn worker as it imports the application, so after the fork.
    """
    import django
    from django.core.handlers.wsgi import WSGIHandler

    django.setup(set_prefix=False)
    if tracing_configure(service_name):
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or UNTRACED_PATHS
        DjangoInstrumentor().instrument(excluded_urls=excluded)
    return WSGIHandler()


class CorrelationIdMiddleware:
    """Adopt a well-formed ``X-Correlation-ID`` from the client or make one up: the request's log lines
    carry it (Django's ``django.request`` line too, through ``correlation_id_keep``), and the response
    echoes it, so the access log has it."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        value = incoming if _CORRELATION_FORM.match(incoming) else str(uuid.uuid4())
        token = correlation_id_set(value)
        correlation_id_keep(request, value)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_reset(token)
        response[CORRELATION_HEADER] = value
        return response


def document_correlation_id(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every response of every operation carries ``X-Correlation-ID``
    (``CorrelationIdMiddleware``), the client's when well-formed, else a new one, in the same form."""
    header = {
        "description": "The request's correlation id: the client's X-Correlation-ID when well-formed, else a new one.",
        "required": True,
        "schema": {"type": "string", "pattern": _CORRELATION_FORM.pattern},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[CORRELATION_HEADER] = header
    return result
