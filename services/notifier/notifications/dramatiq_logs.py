"""Dramatiq's log records about a Redis outage, at the level of what they mean here: the one module that
reads Dramatiq's wording (``tests/notifier/test_worker.py`` fails when it changes).

A consumer that loses Redis logs CRITICAL ("Consumer encountered a connection error", or "... an
unexpected error" with a traceback for a connection that dropped mid-read) and starts again a second
later; ``notifications.broker`` then logs that it resumed. Nothing is lost, so such a record becomes one
WARNING line without a traceback. Any other unexpected error keeps its level and traceback.
"""

from __future__ import annotations

import logging

import redis

#: How Dramatiq's consumer threads begin the messages of an outage (dramatiq/worker.py, _ConsumerThread).
OUTAGE_MESSAGES = ("Consumer encountered a connection error", "Consumer encountered an unexpected error")
#: Loggers of Dramatiq's consumer threads start with this.
CONSUMER_LOGGER = "dramatiq.worker.ConsumerThread"


class ConsumerOutageFilter(logging.Filter):
    """Turns a consumer's CRITICAL record of a lost Redis connection into one WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.CRITICAL or not record.name.startswith(CONSUMER_LOGGER):
            return True
        message = record.getMessage()
        if not message.startswith(OUTAGE_MESSAGES):
            return True
        error = record.exc_info[1] if record.exc_info else None
        if message.startswith(OUTAGE_MESSAGES[1]) and not isinstance(error, redis.ConnectionError | redis.TimeoutError):
            return True  # a defect: keep it loud
        if error is not None:
            record.msg, record.args = f"{message}: {type(error).__name__}: {error}", None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True
