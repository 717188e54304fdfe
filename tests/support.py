"""Helpers shared by the integration tests: waiting on conditions, running project processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devinfra.processes import poll

REPO = Path(__file__).resolve().parents[1]
MANAGE = REPO / "services" / "projects" / "manage.py"
NOTIFIER_MANAGE = REPO / "services" / "notifier" / "manage.py"
BIN = Path(sys.executable).parent


def unavailable(reason: str) -> None:
    """Skip a test that lacks something outside the project; under CI that is a failure, never a skip."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def tool_path(name: str, install: str, *also: str) -> str:
    """The path of the program ``name`` (or of the first of ``also`` found); ``unavailable`` saying how to
    ``install`` it otherwise."""
    for candidate in (name, *also):
        found = shutil.which(candidate)
        if found:
            return found
    unavailable(f"{name} is not installed ({install}); make test installs it when run as root")
    raise AssertionError("unreachable")


#: Flags for a root, offline, headless Chromium.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    """Debian's chromium (or $CHROMIUM), for Playwright to drive."""
    return os.environ.get("CHROMIUM") or tool_path("chromium", "Debian: apt-get install chromium", "chromium-browser")


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    result = poll(condition, timeout=timeout, interval=interval)
    if not result:
        pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
    return result


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
            args, cwd=REPO, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group: a kill reaches the workers it forks
        )  # fmt: skip
        process.log_path = log.name  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    @staticmethod
    def kill_group(process: subprocess.Popen[str]) -> None:
        """SIGKILL a process and every process it started (Dramatiq forks its workers)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

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

    def worker(
        self,
        module: str = "tests.relay.consumer_app",
        processes: int = 1,
        threads: int = 4,
        *,
        also: tuple[str, ...] = (),
        **env: str,
    ) -> subprocess.Popen[str]:
        """Start ``dramatiq module *also``: the modules ``also`` names are imported after ``module``."""
        return self.start(
            [str(BIN / "dramatiq"), module, *also, "--processes", str(processes),
             "--threads", str(threads), "--worker-shutdown-timeout", "5000"],
            **env,
        )  # fmt: skip

    def notifier_worker(self, processes: int = 1, threads: int = 4, **env: str) -> subprocess.Popen[str]:
        """Start ``notifier-worker``, the notifier worker's command as production runs it."""
        return self.start(
            [str(BIN / "notifier-worker"), "--processes", str(processes), "--threads", str(threads),
             "--worker-shutdown-timeout", "5000"],
            **env,
        )  # fmt: skip

    def notifier_deliverer(self, *options: str, **env: str) -> subprocess.Popen[str]:
        """Start ``manage.py deliveries_run``, the notifier's delivery worker."""
        return self.start([sys.executable, str(NOTIFIER_MANAGE), "deliveries_run", *options], **env)

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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything it left behind


def command_run(manage: Path, settings_module: str, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A management command run as an operator runs it: a subprocess of its own, on ``database_url``."""
    env = {"DJANGO_SETTINGS_MODULE": settings_module, "DATABASE_URL": database_url, "PATH": "/usr/bin:/bin",
           "PYTHONPATH": f"{REPO}:{manage.parent}"}  # fmt: skip
    return subprocess.run([sys.executable, str(manage), *args], env=env, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    """``done`` exited with ``code`` and said why on one line of stderr containing ``says``, no traceback."""
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert says in line, line
