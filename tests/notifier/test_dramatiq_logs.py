"""A consumer's lost Redis connection is one warning line; any other consumer error stays loud."""

from __future__ import annotations

import logging
import sys

import redis

from notifications.dramatiq_logs import ConsumerOutageFilter

LOGGER = "dramatiq.worker.ConsumerThread(codegen-events)"


def record(message: str, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = None
    if error is not None:
        try:
            raise error
        except BaseException:
            exc_info = sys.exc_info()
    return logging.LogRecord(LOGGER, logging.CRITICAL, __file__, 1, message, None, exc_info)


def test_a_lost_connection_becomes_one_warning_line():
    lost = record("Consumer encountered a connection error: Error 111 connecting. Connection refused.")
    dropped = record("Consumer encountered an unexpected error.", redis.ConnectionError("Connection reset by peer"))
    for item in (lost, dropped):
        assert ConsumerOutageFilter().filter(item)
        assert (item.levelname, item.exc_info) == ("WARNING", None)
    assert (
        dropped.getMessage() == "Consumer encountered an unexpected error.: ConnectionError: Connection reset by peer"
    )


def test_a_defect_keeps_its_level_and_traceback():
    defect = record("Consumer encountered an unexpected error.", KeyError("bug"))
    assert ConsumerOutageFilter().filter(defect)
    assert defect.levelname == "CRITICAL" and defect.exc_info is not None
