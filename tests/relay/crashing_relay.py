"""A relay process that kills itself with SIGKILL at a chosen point (real process death, no cleanup).

`python -m tests.relay.crashing_relay after_claim|after_publish` runs `outbox_relay --once` with
the crash wired in; used by the crash-point tests only.
"""

from __future__ import annotations

import os
import signal
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "projects_service.settings.test")
django.setup()

from django.core.management import call_command  # noqa: E402

from outbox import relay, store  # noqa: E402


def die(*args: object, **kwargs: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(point: str) -> None:
    if point == "after_claim":  # rows leased, nothing published
        relay.Relay._publish_with_retry = die  # type: ignore[method-assign]
    elif point == "after_publish":  # on the queue, not marked published
        store.outbox_rows_mark_published = die  # type: ignore[assignment]
    else:
        sys.exit(f"unknown crash point {point!r}")
    call_command("outbox_relay", "--once")


if __name__ == "__main__":
    main(sys.argv[1])
