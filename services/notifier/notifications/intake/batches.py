"""Taking what waits in a queue as one batch, for the threads that write in batches (intake, delivery records)."""

from __future__ import annotations

import queue
from typing import TypeVar

T = TypeVar("T")


def batch_take(items: queue.SimpleQueue[T | None], most: int) -> tuple[list[T], bool]:
    """Wait for one item, then take what else waits at that moment, up to ``most`` in all; ``None`` in the queue
    means stop. Returns the batch (empty when the first item was ``None``) and whether to stop after it."""
    first = items.get()
    if first is None:
        return [], True
    batch = [first]
    while len(batch) < most:
        try:
            more = items.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return batch, True
        batch.append(more)
    return batch, False
