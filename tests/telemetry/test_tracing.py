"""Tracing: off unless the standard variables ask, and spans that continue a trace across processes."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from codegen_contracts import traceparent_parse
from codegen_telemetry import span, span_end, span_start, traceparent_current, traceparent_of, tracing_enabled
from codegen_telemetry.tracing import tracing_exporter_wanted

#: A client's trace context, as a request or an envelope carries it.
CLIENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "none"}, None),
        ({"OTEL_TRACES_EXPORTER": ""}, None),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": " OTLP "}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, None),
    ],
)
def test_tracing_is_off_unless_the_environment_asks(environ, wanted):
    assert tracing_exporter_wanted(environ) == wanted


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ],
)
def test_an_exporter_this_project_cannot_honour_is_refused_naming_the_variable(environ, named):
    with pytest.raises(ValueError, match=named):
        tracing_exporter_wanted(environ)


def test_tracing_off_records_nothing_and_names_no_span():
    assert not tracing_enabled()
    with span("work", traceparent=CLIENT, follow=True) as current:
        assert current is None
        assert traceparent_current() is None
    assert span_start("work", traceparent=CLIENT) is None
    assert traceparent_of(None) is None
    span_end(None, error="nothing to end")


def test_a_followed_span_continues_the_trace_its_traceparent_names(memory_spans):
    with span("intake", traceparent=CLIENT, follow=True, kind=SpanKind.CONSUMER) as current:
        named = traceparent_current()
        with span("child") as child:
            assert traceparent_current() == traceparent_of(child)
    assert named == traceparent_of(current)
    assert traceparent_parse(named) == named  # a valid W3C traceparent
    intake, inner = (
        {s.name: s for s in memory_spans.get_finished_spans()}["intake"],
        memory_spans.get_finished_spans()[0],
    )
    assert f"{intake.context.trace_id:032x}" == CLIENT[3:35]
    assert f"{intake.parent.span_id:016x}" == CLIENT[36:52]
    assert intake.kind == SpanKind.CONSUMER
    assert inner.name == "child" and inner.parent.span_id == intake.context.span_id


def test_without_a_traceparent_a_followed_span_starts_a_new_trace_even_inside_another(memory_spans):
    with span("outer") as outer, span("detached", traceparent=None, follow=True) as detached:
        assert detached.get_span_context().trace_id != outer.get_span_context().trace_id
    assert {s.name: s.parent for s in memory_spans.get_finished_spans()}["detached"] is None


def test_a_started_span_is_not_current_and_records_its_failure(memory_spans):
    started = span_start("publish", traceparent=CLIENT, kind=SpanKind.PRODUCER, attributes={"k": 1})
    assert traceparent_current() is None  # not made current
    span_end(started, error="Redis refused it")
    (finished,) = memory_spans.get_finished_spans()
    assert finished.status.status_code == StatusCode.ERROR and finished.status.description == "Redis refused it"
    assert finished.attributes["k"] == 1 and f"{finished.context.trace_id:032x}" == CLIENT[3:35]


def test_an_exception_in_a_span_marks_it_failed(memory_spans):
    with pytest.raises(RuntimeError), span("deliver"):
        raise RuntimeError("receiver down")
    (finished,) = memory_spans.get_finished_spans()
    assert finished.status.status_code == StatusCode.ERROR
    assert [e.name for e in finished.events] == ["exception"]
