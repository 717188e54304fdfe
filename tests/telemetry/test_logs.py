"""Log lines: JSON objects (or plain text) carrying the event id, correlation id and trace id."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from codegen_telemetry import log_context, logging_config, span, traceparent_current

CLIENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def lines(monkeypatch):
    """Configure logging as a process does (LOG_FORMAT from the test), into a buffer; its lines."""
    buffer = io.StringIO()
    previous = logging.root.handlers[:], logging.root.level

    def configure(**environ: str) -> logging.Logger:
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        config = logging_config()
        config["handlers"]["console"]["stream"] = buffer
        logging.config.dictConfig(config)
        return logging.getLogger("tests.telemetry")

    yield configure, lambda: buffer.getvalue().splitlines()
    logging.root.handlers[:], _ = previous
    logging.root.setLevel(previous[1])


def test_a_json_line_carries_the_ids_of_the_event_being_handled(lines):
    configure, read = lines
    logger = configure(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    with log_context(event_id="e-1", correlation_id="c-1", traceparent=CLIENT):
        logger.debug("taken in %s", "once", extra={"outcome": "processed"})
    logger.info("between events")
    inside, outside = map(json.loads, read())
    assert inside == {
        "level": "DEBUG", "logger": "tests.telemetry", "message": "taken in once", "outcome": "processed",
        "event_id": "e-1", "correlation_id": "c-1", "trace_id": CLIENT[3:35], "time": inside["time"],
    }  # fmt: skip
    assert inside["time"].endswith("+00:00")
    assert set(outside) == {"level", "logger", "message", "time"}  # no ids outside the event


def test_with_tracing_on_a_line_carries_the_current_span(lines, memory_spans):
    configure, read = lines
    logger = configure(LOG_FORMAT="json")
    with (
        log_context(event_id="e-1", correlation_id=None, traceparent=CLIENT),
        span("x", traceparent=CLIENT, follow=True),
    ):
        current = traceparent_current()
        logger.warning("inside the span")
    (line,) = map(json.loads, read())
    assert (line["trace_id"], line["span_id"]) == (current[3:35], current[36:52])
    assert "correlation_id" not in line


def test_an_exception_is_part_of_its_line(lines):
    configure, read = lines
    logger = configure(LOG_FORMAT="json")
    try:
        raise ValueError("bad")
    except ValueError:
        logger.exception("failed")
    (line,) = map(json.loads, read())
    assert "ValueError: bad" in line["exc_info"]


def test_plain_lines_for_a_terminal_keep_the_fields(lines):
    configure, read = lines
    logger = configure(LOG_FORMAT="plain")
    with log_context(event_id="e-1", correlation_id="c-1"):
        logger.warning("hello", extra={"k": 3})
    (line,) = read()
    assert line.split(" ", 3)[2:] == [
        "WARNING",
        "tests.telemetry hello " + json.dumps({"k": 3, "event_id": "e-1", "correlation_id": "c-1"}),
    ]


def test_an_unknown_log_format_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config()
