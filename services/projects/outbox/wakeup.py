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
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

from codegen_config import RedisTarget
from outbox.config import outbox_config

logger = logging.getLogger(__name__)

#: PostgreSQL NOTIFY channel.
NOTIFY_CHANNEL = "outbox_event"
#: Redis PUBLISH channel.
REDIS_CHANNEL = "outbox:wakeup"


#: Polls in a row that find new rows no wake-up announced before the relay warns.
MISSED_WAKEUPS_POLLS = 3
#: Seconds between two such warnings.
MISSED_WAKEUPS_WARN_EVERY = 600.0


def wakeup_mode_effective(mode: str, using: str) -> str:
    """``mode`` as it works on ``using``: "notify" falls back to "none" off PostgreSQL."""
    if mode == "notify" and connections[using].vendor != "postgresql":
        return "none"
    return mode


def wakeup_mode(using: str) -> str:
    """The configured mode (``OUTBOX["WAKEUP"]``, read once) as it works on ``using``."""
    return wakeup_mode_effective(outbox_config().wakeup, using)


@functools.cache
def _redis(target: RedisTarget) -> Any:
    return target.client(timeout=0.5)


def _publish_wakeup() -> None:
    try:
        _redis(outbox_config().redis).publish(REDIS_CHANNEL, b"1")
    except Exception as exc:  # the relay still polls; a lost wake-up only costs latency
        logger.warning("outbox wake-up via Redis failed: %s", exc)


def wakeup_after_commit(using: str) -> None:
    """Register one Redis wake-up for the current transaction (no-op if already registered)."""
    connection = connections[using]
    if any(callback is _publish_wakeup for _, callback, _ in connection.run_on_commit):
        return
    connection.on_commit(_publish_wakeup)


def wakeup_on_commit(using: str) -> None:
    """Wake the relays once the current transaction commits, the configured way (nothing if it rolls back).

    For writes that do not go through the writer's INSERT (which carries its NOTIFY itself), such
    as an operator's replay making rows due again.
    """
    mode = wakeup_mode(using)
    if mode == "notify":
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    elif mode == "redis":
        wakeup_after_commit(using)


class MissedWakeups:
    """Notices new rows that only polling found: the writers signal one way, the relay listens another.

    Fresh rows (first attempt) that a claim finds right after the wait timed out should not
    happen while wake-ups work, since every commit of one signals the relay. Several polls in a
    row that find some mean the writers' OUTBOX_WAKEUP differs from the relay's, or the signal
    does not reach it; the relay then runs at poll speed.
    """

    def __init__(self, mode: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.mode = mode
        self.clock = clock
        self._polls = 0
        self._next_warning = 0.0

    def observe(self, *, polled: bool, fresh_rows: int) -> bool:
        """Record a claim (made after a timed-out wait or not) and its first-attempt rows; True: warn now."""
        if self.mode == "none":
            return False
        if not polled:
            self._polls = 0
            return False
        if fresh_rows:
            self._polls += 1
        now = self.clock()
        if self._polls < MISSED_WAKEUPS_POLLS or now < self._next_warning:
            return False
        self._polls = 0
        self._next_warning = now + MISSED_WAKEUPS_WARN_EVERY
        return True


class WakeupListener:
    """Listens for wake-ups in a daemon thread and sets ``event`` on each."""

    def __init__(self, mode: str, event: threading.Event, *, redis: RedisTarget, using: str = "default") -> None:
        self.mode = mode
        self.event = event
        self.redis = redis
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
        client = self.redis.client(timeout=5)
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
