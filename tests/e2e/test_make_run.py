"""`make run` as a newcomer runs it: once every process answers, it prints where everything is, with tokens
that work, below the processes' start-up lines."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devinfra.ports import free_port
from devinfra.processes import http_ok
from tests.support import REPO, wait_for

pytestmark = pytest.mark.e2e

#: Seconds `make run` has to migrate both SQLite databases and start every process.
STARTUP_DEADLINE = 240.0


def api_get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_make_run_prints_urls_and_working_tokens_once_everything_answers(redis_server: Any, tmp_path: Path):
    api_port, notifier_port = free_port(), free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/7",  # the session's Redis: make run starts none
        "DATABASE_URL": f"sqlite:///{tmp_path}/projects.sqlite3",
        "NOTIFIER_DATABASE_URL": f"sqlite:///{tmp_path}/notifier.sqlite3",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "CI"):
        env.pop(name, None)
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={api_port}", f"NOTIFIER_PORT={notifier_port}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert make.stdout is not None
        for line in make.stdout:
            lines.append(line.rstrip("\n"))
            if "user dev, password dev" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(STARTUP_DEADLINE), "\n".join(lines[-40:])
        output = "\n".join(lines)
        tokens = re.findall(r"token ([0-9a-f]{40})", output)
        assert len(tokens) == 2, output
        assert f"http://127.0.0.1:{api_port}/api/v1/" in output
        assert f"http://127.0.0.1:{notifier_port}/api/v1/" in output
        summary_at = next(i for i, line in enumerate(lines) if "make run: everything answers" in line)
        assert any("Starting development server" in line for line in lines[:summary_at])  # printed after start-up
        assert api_get(f"http://127.0.0.1:{api_port}/api/v1/projects/", tokens[0])[0] == 200
        assert api_get(f"http://127.0.0.1:{notifier_port}/api/v1/notifications/", tokens[1])[0] == 200
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: honcho stops every process
        try:
            make.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        reader.join(timeout=10)
    healthz = f"http://127.0.0.1:{api_port}/healthz"
    wait_for(lambda: not http_ok(healthz, timeout=1), timeout=30, what="the projects API gone after Ctrl-C")
