"""What every process of both services shares to be seen running: OpenTelemetry tracing (off unless
the standard ``OTEL_*`` variables turn it on), JSON log lines, and the ids those lines carry."""

from codegen_telemetry.context import correlation_id_get, correlation_id_reset, correlation_id_set, log_context
from codegen_telemetry.logs import logging_config
from codegen_telemetry.tracing import (
    span,
    span_end,
    span_start,
    traceparent_current,
    traceparent_of,
    tracing_configure,
    tracing_enabled,
)

__all__ = [
    "correlation_id_get",
    "correlation_id_reset",
    "correlation_id_set",
    "log_context",
    "logging_config",
    "span",
    "span_end",
    "span_start",
    "traceparent_current",
    "traceparent_of",
    "tracing_configure",
    "tracing_enabled",
]
