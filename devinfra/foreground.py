"""Running a devinfra command in the foreground (make run, make production) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable


class ForegroundStop:
    """Once made, SIGTERM and SIGINT set ``stopping`` instead of ending the process, so that the caller's
    ``finally`` stops what it started."""

    def __init__(self) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def wait(self, check: Callable[[], None] | None = None, interval: float = 0.5) -> None:
        """Return once stopped; meanwhile call ``check`` (which may exit) every ``interval`` seconds."""
        while not self.stopping:
            if check is not None:
                check()
            time.sleep(interval)
