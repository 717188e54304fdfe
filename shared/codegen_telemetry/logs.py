"""Log lines as JSON objects (or plain text for a terminal), each with the ids of the work in progress.

Every line carries, when they are known, ``event_id``, ``correlation_id``, ``trace_id`` and
``span_id``, so that a log line joins the metrics and the trace of the same event. Fields a caller
passes with ``extra=`` are fields of the line.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from codegen_config.env import env_str
from codegen_telemetry.context import correlation_id_get, correlation_id_of, event_id_get, trace_id_get
from codegen_telemetry.tracing import trace_ids_current

#: The ids ``WorkContextFilter`` adds to every record, in the order lines show them.
CONTEXT_FIELDS = ("event_id", "correlation_id", "trace_id", "span_id")
#: Values of LOG_FORMAT.
FORMATS = ("json", "plain")


class WorkContextFilter(logging.Filter):
    """Adds the ids of the work in progress to each record (those that are known); a record about a request
    logged after its work ended (Django's ``django.request``) takes the correlation id the request kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        correlation_id = correlation_id_get() or correlation_id_of(getattr(record, "request", None))
        ids = {"event_id": event_id_get(), "correlation_id": correlation_id, "trace_id": trace_id_get()}
        current = trace_ids_current()
        if current is not None:
            ids["trace_id"], ids["span_id"] = current
        for name, value in ids.items():
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``level``, ``logger``, ``message``, extras, the ids, and ``time`` (UTC)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601 in UTC
            **kwargs,
        )


class PlainFormatter(logging.Formatter):
    """``time level logger message``, then the ids and extras as one JSON object when there are any."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        return f"{line} {json.dumps(fields, default=str)}" if fields else line


_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime", "taskName"}


def logging_config(*, default_format: str = "json") -> dict[str, Any]:
    """Django's ``LOGGING`` for a process: everything at ``LOG_LEVEL`` (INFO) and up to stderr, in
    ``LOG_FORMAT`` (``json`` or ``plain``; ``default_format`` when unset).

    Raises ValueError naming LOG_FORMAT for another format.
    """
    level = env_str("LOG_LEVEL", "INFO") or "INFO"
    fmt = (env_str("LOG_FORMAT", default_format) or default_format).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT={fmt!r}: one of {', '.join(FORMATS)}")
    formatter = JsonLineFormatter if fmt == "json" else PlainFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"work": {"()": WorkContextFilter}},
        "formatters": {"line": {"()": formatter}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["work"]}},
        "root": {"handlers": ["console"], "level": level},
    }
