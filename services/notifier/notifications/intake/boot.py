"""What a worker process does once at start-up: take in the held events its release now knows."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
from django.db import connection

from notifications.config import notifier_config
from notifications.intake.resume import HELD, TAKEN_IN, inbox_resume
from notifications.intake.sweep import order_sweep
from notifications.reconnect import on_fresh_connection

logger = logging.getLogger(__name__)


def held_events_resume() -> None:
    """Resume held events (their deliveries go to the delivery workers); log what came of it (never raises)."""
    try:
        resumed = on_fresh_connection(inbox_resume)
        if resumed.outcomes:
            logger.info(
                "start-up resume: %d held events taken in, %d still held", resumed.count(TAKEN_IN), resumed.count(HELD)
            )
    except Exception:
        logger.exception("start-up resume of held events failed; run `manage.py inbox_resume`")
    finally:
        connection.close()


class ResumeHeldAtBoot(dramatiq.Middleware):
    """Runs ``held_events_resume`` in a thread of each worker process once it has booted.

    Several processes may run it at once: each takes the rows the others have not locked.
    """

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        threading.Thread(target=held_events_resume, name="held-events-resume", daemon=True).start()


def order_sweeps(stop: threading.Event) -> None:
    """Sweep waiting events until ``stop`` is set, every fifth of NOTIFIER_ORDER_WAIT (0.05 to 1 s)."""
    interval = max(0.05, min(1.0, notifier_config().order_wait / 5))
    while not stop.wait(interval):
        try:
            swept = on_fresh_connection(order_sweep)
            if swept.released:
                logger.warning(
                    "%d events waited NOTIFIER_ORDER_WAIT for earlier ones and took effect; %d sequences missing",
                    swept.released,
                    swept.gaps,
                )
        except Exception:
            logger.exception("order sweep failed; retrying at the next pass")
            connection.close()


class OrderSweeper(dramatiq.Middleware):
    """Runs ``order_sweeps`` in a thread of each worker process while it is up."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        threading.Thread(target=order_sweeps, args=(self.stop,), name="order-sweeps", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.stop.set()
