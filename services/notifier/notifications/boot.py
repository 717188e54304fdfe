"""What a worker process does once at start-up: take in the held events its release now knows."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
from django.db import connection

from notifications.db import on_fresh_connection
from notifications.deliveries import deliveries_attempt
from notifications.resume import HELD, TAKEN_IN, inbox_resume

logger = logging.getLogger(__name__)


def held_events_resume() -> None:
    """Resume held events and attempt their deliveries; log what came of it (never raises)."""
    try:
        resumed = on_fresh_connection(inbox_resume)
        if resumed.outcomes:
            logger.info(
                "start-up resume: %d held events taken in, %d still held", resumed.count(TAKEN_IN), resumed.count(HELD)
            )
        deliveries_attempt(resumed.delivery_ids)
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
