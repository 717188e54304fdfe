"""CPU time from /proc: what the notifier's ordering cost per event and the relays' CPU per event are measured with."""

from __future__ import annotations

import os
import time

from bench.cpu import machine_busy_seconds, process_cpu_seconds


def _burn(seconds: float) -> None:
    """Keep this process on a core for ``seconds`` of its own CPU time."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_the_cpu_this_process_burns_is_counted_for_it_and_for_the_machine():
    process_before, machine_before = process_cpu_seconds(os.getpid()), machine_busy_seconds()
    _burn(0.3)
    process_used = process_cpu_seconds(os.getpid()) - process_before
    machine_used = machine_busy_seconds() - machine_before
    # /proc counts in clock ticks (10 ms): allow two of them each way
    assert 0.28 <= process_used <= 0.6
    assert machine_used >= 0.28
