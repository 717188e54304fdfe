"""The WSGI application of a Django service, traced when tracing is on (gunicorn and runserver)."""

from __future__ import annotations

import os
from typing import Any

from codegen_telemetry.tracing import tracing_configure

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
