"""OpenTelemetry tracing, off unless the standard variables turn it on.

``OTEL_TRACES_EXPORTER=otlp`` (OTLP over HTTP/protobuf, to ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or ``console`` turns tracing on; unset or ``none`` leaves it
off, and ``OTEL_SDK_DISABLED=true`` wins over both. ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER`` and the exporter's own variables are read by the SDK as it documents.

Off, every helper here returns at once without touching OpenTelemetry: tracing off costs a
function call. A span's context travels between processes as a W3C ``traceparent`` (the envelope's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

#: Values of OTEL_TRACES_EXPORTER that this project's processes understand.
EXPORTERS = ("otlp", "console", "none")
#: The only OTLP protocol the installed exporter speaks (OTEL_EXPORTER_OTLP_PROTOCOL).
OTLP_PROTOCOL = "http/protobuf"

_propagator = TraceContextTextMapPropagator()


class _Process:
    """This process's tracing: its tracer, None while tracing is off."""

    tracer: trace.Tracer | None = None


_process = _Process()


def tracing_exporter_wanted(environ: Mapping[str, str]) -> str | None:
    """The exporter the environment asks for (``otlp`` or ``console``), or None for tracing off.

    Raises ValueError naming the variable for a value this project cannot honour.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    name = environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    if name not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: this project exports with one of {', '.join(EXPORTERS)}")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if name == "otlp" and protocol not in (None, "", OTLP_PROTOCOL):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only {OTLP_PROTOCOL} is installed")
    return None if name == "none" else name


def tracing_configure(service_name: str, *, exporter: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on for this process if the environment asks for it; return whether it is on.

    ``service_name`` is the default ``service.name`` (``OTEL_SERVICE_NAME`` wins). ``exporter``, a
    SpanExporter, is exported to synchronously instead, by this module's spans only (tests; the
    global provider is left alone). Call it once per process, after any fork: the batch exporter's
    thread does not survive one. A second call changes nothing until ``tracing_disable``.
    """
    if _process.tracer is not None:
        return True
    environ = os.environ if environ is None else environ
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        processor: Any = SimpleSpanProcessor(exporter)
    else:
        wanted = tracing_exporter_wanted(environ)
        if wanted is None:
            return False
        processor = BatchSpanProcessor(_exporter(wanted))
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(processor)
    if exporter is None:  # the global one, which instrumentations (Django's) use; set once per process
        trace.set_tracer_provider(provider)
    _process.tracer = provider.get_tracer("codegen")
    return True


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracing_disable() -> None:
    """Turn tracing off again in this process (tests); spans already ended stay exported."""
    _process.tracer = None


@contextmanager
def tracing_suspended() -> Iterator[None]:
    """Within the block, this process records no spans, as with tracing off (the benchmark's other side)."""
    tracer, _process.tracer = _process.tracer, None
    try:
        yield
    finally:
        _process.tracer = tracer


def tracing_enabled() -> bool:
    """Whether this process records spans."""
    return _process.tracer is not None


def _parent(traceparent: str | None) -> Context:
    return _propagator.extract({"traceparent": traceparent}) if traceparent else Context()


def span(
    name: str,
    *,
    traceparent: str | None = None,
    follow: bool = False,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> AbstractContextManager[Span | None]:
    """A current span around the block (None when tracing is off), with an exception recorded.

    Its parent is the current span, or with ``follow`` the span ``traceparent`` names (a new trace
    when that is None): how work continues a trace that came from another process.
    """
    tracer = _process.tracer
    if tracer is None:
        return _OFF
    context = _parent(traceparent) if follow else None
    return tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


#: What ``span`` gives while tracing is off: nothing to enter, reusable.
_OFF: AbstractContextManager[None] = nullcontext()


def span_start(
    name: str,
    *,
    traceparent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
) -> Span | None:
    """Start a span that is not made current, child of the one ``traceparent`` names (None when off).

    For work done on many events at once (the relay's batch): each event's span in its own trace.
    """
    tracer = _process.tracer
    if tracer is None:
        return None
    return tracer.start_span(
        name, context=_parent(traceparent), kind=kind, attributes=attributes, start_time=start_time
    )


def span_end(current: Span | None, *, error: str | None = None, end_time: int | None = None) -> None:
    """End ``current`` (nothing when None), marked as failed with ``error`` when given."""
    if current is None:
        return
    if error is not None:
        current.set_status(Status(StatusCode.ERROR, error))
    current.end(end_time=end_time)


def traceparent_of(current: Span | None) -> str | None:
    """The W3C ``traceparent`` naming ``current`` (None when it is None or not a valid span)."""
    if current is None:
        return None
    context = current.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def traceparent_current() -> str | None:
    """The W3C ``traceparent`` of the current span, when tracing is on and one is current."""
    tracer = _process.tracer
    if tracer is None:
        return None
    return traceparent_of(trace.get_current_span())


def trace_ids_current() -> tuple[str, str] | None:
    """The current span's trace id and span id in hex, when tracing is on and one is current (logs)."""
    tracer = _process.tracer
    if tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
