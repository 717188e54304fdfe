"""Stopping a long-running process on SIGTERM or SIGINT without ever deadlocking in the signal handler.

Python runs a signal handler in the main thread, between two bytecodes, wherever that thread is: also
inside ``threading.Event.wait()`` or ``clear()`` while it holds the event's lock. A handler that calls
``set()`` on that event then waits for a lock its own thread holds, and the process never stops (a relay
did, now and then, when SIGTERM came while it was waiting for work). So the handler here does one thing
that takes no lock, writing a byte to a pipe, and a thread of its own reads it and calls ``stop``: that
thread waits for the event's lock like any other, and the main thread, back from the handler, lets go.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable

#: The signals a long-running process stops on: compose's and Kubernetes' stop, and Ctrl-C.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(stop: Callable[[], None], signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
    """From now on, call ``stop`` (on a thread of its own, once per signal) when one of ``signals`` arrives.

    Call it from the main thread. ``stop`` must be safe to call more than once.
    """
    read, write = os.pipe()

    def stop_when_signalled() -> None:
        while os.read(read, 1):
            stop()

    threading.Thread(target=stop_when_signalled, name="stop-on-signal", daemon=True).start()

    def handler(signum: int, frame: object) -> None:
        os.write(write, b".")

    for sig in signals:
        signal.signal(sig, handler)
