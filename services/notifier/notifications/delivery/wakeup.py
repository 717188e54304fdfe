"""Waking the delivery workers when intake commits a delivery: PostgreSQL NOTIFY, sent by a trigger.

The trigger (migration 0007) notifies ``NOTIFY_CHANNEL`` once per statement that inserted delivery
rows, at commit. Operators' actions that make deliveries due again call ``deliveries_wake``. A
worker listens on a connection of its own; polling (``NOTIFIER_DELIVERY_POLL``) guarantees
progress without it (and on SQLite, which has no NOTIFY).
"""

from __future__ import annotations

import logging
import threading

from django.db import connection

logger = logging.getLogger(__name__)

#: The PostgreSQL channel deliveries are announced on.
NOTIFY_CHANNEL = "notifier_delivery"


def deliveries_wake() -> None:
    """Wake the delivery workers when the current transaction commits (PostgreSQL; nothing elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


class DeliveryListener:
    """On each announcement sets ``wake``, from a daemon thread that reconnects after a failure."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self._stop = threading.Event()

    def start(self) -> None:
        if connection.vendor != "postgresql":
            return
        threading.Thread(target=self._loop, name="delivery-wakeup", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # polling covers the gap
                logger.warning("delivery wake-up listener lost its connection: %s", exc)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        import psycopg

        params = connection.get_connection_params()
        for option in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
            params.pop(option, None)
        with psycopg.connect(**params, autocommit=True) as listening:
            listening.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.wake.set()  # catch up on anything committed while nobody listened
            while not self._stop.is_set():
                for _ in listening.notifies(timeout=1.0, stop_after=1):
                    self.wake.set()
