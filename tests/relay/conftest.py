"""Fixtures for relay tests: real Redis, relays and Dramatiq workers as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "services" / "projects" / "manage.py"
BIN = Path(sys.executable).parent


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


@pytest.fixture
def redis_url(redis_server: Any, settings: Any) -> Iterator[str]:
    """The session Redis, emptied, and the projects settings pointing at it."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    settings.OUTBOX = {**settings.OUTBOX, "REDIS_URL": redis_server.url}
    yield redis_server.url
    client.close()


@pytest.fixture
def database_url(transactional_db: Any) -> str:
    """URL of the test database, for relay processes (rows must be committed to be seen)."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


class Processes:
    """Starts project processes (relays, workers) and stops whatever is left at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], **env: str) -> subprocess.Popen[str]:
        """Start a process whose output goes to a log file (a pipe nobody reads would block it)."""
        log = open(self.logs / f"process-{len(self.started)}.log", "w")  # noqa: SIM115 - closed by the OS at exit
        process = subprocess.Popen(
            args, cwd=REPO, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        process.log_path = log.name  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    @staticmethod
    def output(process: subprocess.Popen[str]) -> str:
        return Path(process.log_path).read_text()  # type: ignore[attr-defined]

    @staticmethod
    def relay_args(*options: str) -> list[str]:
        return [sys.executable, str(MANAGE), "outbox_relay", *options]

    def relay(self, *options: str, **env: str) -> subprocess.Popen[str]:
        return self.start(self.relay_args(*options), **env)

    def run(self, args: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=REPO, env={**self.env, **env}, capture_output=True, text=True, timeout=timeout)

    def worker(self, processes: int = 1, threads: int = 4) -> subprocess.Popen[str]:
        return self.start(
            [str(BIN / "dramatiq"), "tests.relay.consumer_app", "--processes", str(processes),
             "--threads", str(threads), "--worker-shutdown-timeout", "5000"]
        )  # fmt: skip

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
        "PYTHONUNBUFFERED": "1",
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop_all()


def received(redis_url: str) -> list[str]:
    """Event ids the test worker received, in order (with repeats)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [item.decode().split("|")[0] for item in client.lrange("test:received", 0, -1)]
    finally:
        client.close()
