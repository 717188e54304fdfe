"""What every server devinfra starts needs: is it answering over HTTP, and stopping it politely."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import Any


def poll(condition: Callable[[], Any], *, timeout: float, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy or ``timeout`` passes; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers 200 now (False when it refuses, times out or answers otherwise)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def http_ready(url: str, *, timeout: float, exited: Callable[[], str | None]) -> None:
    """Wait until ``url`` answers 200; raise RuntimeError when ``exited()`` says why a process it needs
    ended (a message, else None) or when ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not http_ok(url, timeout=5):
        gone = exited()
        if gone is not None:
            raise RuntimeError(gone)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready after {timeout} s")
        time.sleep(0.1)


def process_stop(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """SIGTERM ``process`` and wait; SIGKILL it if it is still running after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
