"""Waking the relay when an outbox row commits: PostgreSQL NOTIFY or Redis PUBLISH.

Writer side: at most one signal per transaction, delivered only after commit (NOTIFY is
transactional and PostgreSQL folds identical notifications of one transaction into one; the
Redis PUBLISH is an ``on_commit`` hook registered once). Relay side: a listener thread sets an
event. Wake-ups only shorten the wait: polling alone guarantees progress.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

#: PostgreSQL NOTIFY channel.
NOTIFY_CHANNEL = "outbox_event"
#: Redis PUBLISH channel.
REDIS_CHANNEL = "outbox:wakeup"


def wakeup_mode(using: str) -> str:
    """The configured mode, with "notify" falling back to "none" off PostgreSQL."""
    mode = settings.OUTBOX["WAKEUP"]
    if mode == "notify" and connections[using].vendor != "postgresql":
        return "none"
    return str(mode)


@functools.cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _publish_wakeup() -> None:
    try:
        _redis(settings.OUTBOX["REDIS_URL"]).publish(REDIS_CHANNEL, b"1")
    except Exception as exc:  # the relay still polls; a lost wake-up only costs latency
        logger.warning("outbox wake-up via Redis failed: %s", exc)


def wakeup_after_commit(using: str) -> None:
    """Register one Redis wake-up for the current transaction (no-op if already registered)."""
    connection = connections[using]
    if any(callback is _publish_wakeup for _, callback, _ in connection.run_on_commit):
        return
    connection.on_commit(_publish_wakeup)


class WakeupListener:
    """Listens for wake-ups in a daemon thread and sets ``event`` on each."""

    def __init__(self, mode: str, event: threading.Event, *, using: str = "default") -> None:
        self.mode = mode
        self.event = event
        self.using = using
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.mode == "none":
            return
        target = self._listen_notify if self.mode == "notify" else self._listen_redis
        self._thread = threading.Thread(target=self._loop, args=(target,), name="outbox-wakeup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, target: Any) -> None:
        while not self._stop.is_set():
            try:
                target()
            except Exception as exc:  # reconnect after a pause; polling covers the gap
                logger.warning("outbox wake-up listener lost its connection: %s", exc)
                self._stop.wait(1.0)

    def _listen_notify(self) -> None:
        import psycopg

        params = connections[self.using].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("server_side_binding", None)
        params.pop("prepare_threshold", None)
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.event.set()  # catch up on anything committed while we were not listening
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    self.event.set()

    def _listen_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(settings.OUTBOX["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(REDIS_CHANNEL)
            self.event.set()
            while not self._stop.is_set():
                if pubsub.get_message(timeout=1.0):
                    self.event.set()
        finally:
            pubsub.close()
            client.close()
