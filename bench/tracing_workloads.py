"""What tracing costs: the REST transition and the notifier's consume rate with tracing off and on,
interleaved, spans exported over OTLP/HTTP to a receiver in a process of its own."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from unittest import mock

from bench.harness import Measurement, Workload
from devinfra.ports import free_port
from devinfra.processes import process_stop


@contextmanager
def otlp_receiver() -> Iterator[dict[str, str]]:
    """A span receiver in its own process (``devinfra.otlp``); yields the environment that exports to it."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "devinfra.otlp", "--port", str(port)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and b"receiving" in process.stdout.readline()
        yield {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces",
        }
    finally:
        process_stop(process)  # type: ignore[arg-type]


def off_path_seconds(calls: int = 200_000) -> tuple[float, float]:
    """Seconds that tracing off adds to a REST transition (the outbox write's span and its
    ``traceparent`` lookup) and to an event in the notifier worker (its log context and span, and
    a delivery try's): each helper returns at once. Best of three runs of ``calls``."""
    from codegen_telemetry import log_context, span, traceparent_current
    from codegen_telemetry.tracing import tracing_enabled

    assert not tracing_enabled()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    def request() -> None:
        with span("outbox write", attributes=None):
            traceparent_current()

    def event() -> None:
        with (
            log_context(event_id="e", correlation_id="c", traceparent=traceparent),
            span("intake", traceparent=traceparent, follow=True),
            log_context(event_id="e", correlation_id="c", traceparent=traceparent),
            span("delivery", traceparent=traceparent, follow=True),
        ):
            traceparent_current()

    def best(once) -> float:  # type: ignore[no-untyped-def]
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                once()
            timings.append((time.perf_counter() - start) / calls)
        return min(timings)

    return best(request), best(event)


def rest_transition(batch: int, receiver_env: dict[str, str]) -> Workload:
    """PATCH pending → generating with tracing off and on, request by request in turn (the Django
    instrumentation on one client's middleware, spans recorded only on that side)."""

    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from bench.projects_workloads import _client_and_project, transitions_in_turn
    from codegen_telemetry import tracing_configure
    from codegen_telemetry.tracing import tracing_suspended

    plain, project = _client_and_project()
    plain.get("/healthz")  # its middleware chain is loaded now, before the instrumentation
    with mock.patch.dict(os.environ, receiver_env):  # read as the exporter is made; never passed to children
        assert tracing_configure("bench-projects-api")
    DjangoInstrumentor().instrument()
    traced = APIClient()  # the same account, its middleware chain loaded with the instrumentation
    traced.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=project.owner).key}")

    def interleaved() -> tuple[float, float]:
        return transitions_in_turn(
            project, batch, lambda on: (traced, nullcontext()) if on else (plain, tracing_suspended())
        )

    return Workload(
        name="tracing_rest_transition",
        description=f"PATCH status pending→generating through the REST API, {batch} requests each way per "
        "sample, tracing off and on in turn; on: a server span (OpenTelemetry's Django instrumentation) and "
        "the outbox write's span, batch-exported over OTLP/HTTP to a receiver process.",
        baseline_label="tracing off",
        subject_label="tracing on",
        interleaved=interleaved,
        target=("<=", 1.15),
        min_rounds=11,
    )


def tracing_measurements(run, postgres, redis_url: str, quick: bool, rounds: int) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Run the REST workload with ``run`` and return the other figures; tracing is off again after."""
    per_request, per_event = off_path_seconds()  # before tracing is turned on in this process
    with otlp_receiver() as receiver_env:
        result = run(rest_transition(40 if quick else 100, receiver_env), rounds)
        tracing_teardown()
        count = 5_000 if quick else 20_000
        consumed = consume_measurements(postgres, redis_url, count, receiver_env)
    request_ms = statistics.median(result.baseline_samples) if result else float("nan")
    event_us = 2 / consumed[0].value * 1e6  # an event's share of the two cores at the off rate
    return [
        Measurement("tracing_off_cost_per_request", per_request * 1e6, "µs/request", None,
                    f"what tracing off adds to a REST transition: {per_request * 1e6:.2f} µs, "
                    f"{per_request * 1e3 / request_ms:.4%} of the off side's {request_ms:.2f} ms "
                    "(best of 3 × 200,000)"),
        Measurement("tracing_off_cost_per_event", per_event * 1e6, "µs/event", None,
                    f"what tracing off adds to an event in the worker (intake and one delivery try): "
                    f"{per_event * 1e6:.2f} µs, {per_event * 1e6 / event_us:.4%} of an event's {event_us:.0f} µs "
                    "of the two cores at the off rate (best of 3 × 200,000)"),
        *consumed,
    ]  # fmt: skip


def tracing_teardown() -> None:
    """Tracing off again in the benchmark process, for the workloads after these."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from codegen_telemetry.tracing import tracing_disable

    DjangoInstrumentor().uninstrument()
    tracing_disable()


def consume_measurements(
    postgres, redis_url: str, count: int, receiver_env: dict[str, str], rounds: int = 3
) -> list[Measurement]:  # type: ignore[no-untyped-def]
    """Events/s through the notifier (ordering on, 2 processes × 16 threads) with tracing off and on,
    on the same messages, alternating for ``rounds`` rounds; the ratio per round, paired."""
    from bench.notifier_workloads import _consume_rate, _messages

    messages = _messages(count, 0.10, 0.10)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(rounds):
        for side in ("off", "on"):
            env = {"OTEL_SERVICE_NAME": "bench-notifier-worker", **receiver_env} if side == "on" else {}
            rates[side].append(_consume_rate(postgres, redis_url, "notifications.worker", messages, 2, 16, **env).rate)
    ratios = [on / off for off, on in zip(rates["off"], rates["on"], strict=True)]

    def samples(values: list[float], digits: int = 0) -> str:
        return f"median of {rounds}: " + " / ".join(f"{v:,.{digits}f}" for v in values)

    note = f"{count:,} messages (10% duplicates, 10% out of order), ordering on, 2 processes × 16 threads"
    return [
        Measurement("tracing_consume_rate_off", statistics.median(rates["off"]), "events/s", None,
                    f"{note}; {samples(rates['off'])}"),
        Measurement("tracing_consume_rate_on", statistics.median(rates["on"]), "events/s", None,
                    f"{note}; a consumer span and a span per delivery try, exported over OTLP/HTTP; "
                    f"{samples(rates['on'])}"),
        Measurement("tracing_consume_cost", statistics.median(ratios), "× (on / off)", None,
                    f"events/s with tracing on over off, paired by round: {samples(ratios, 3)}; every event traced "
                    "(no sampling), the workers' cores saturated"),
    ]  # fmt: skip
