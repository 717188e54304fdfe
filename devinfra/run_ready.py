"""`make run`'s last process: once both APIs answer, make the development user of each service and print
where everything is, below the other processes' start-up lines; then wait to be stopped with the rest.

Run by honcho from Procfile.dev (``python -m devinfra.run_ready``), with HOST, API_PORT, NOTIFIER_PORT,
REDIS_URL, NOTIFIER_DATABASE_URL and VENV_BIN in its environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devinfra.processes import http_ready

REPO = Path(__file__).resolve().parents[1]
#: Seconds both APIs have to answer ``/readyz`` before this gives up (and so stops ``make run``).
READY_TIMEOUT = 120.0


def dev_token(service: str, env: dict[str, str]) -> str:
    """Make (or find) ``service``'s development user; its API token."""
    done = subprocess.run(
        [sys.executable, str(REPO / "services" / service / "manage.py"), "ensure_dev_user"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.rsplit("API token:", 1)[1].strip()


def summary(host: str, api_port: str, notifier_port: str, tokens: dict[str, str], redis_url: str) -> str:
    api, notifier = f"http://{host}:{api_port}", f"http://{host}:{notifier_port}"
    return (
        "\n"
        "make run: everything answers\n"
        f"  projects API  {api}/api/v1/   docs {api}/api/docs/   admin {api}/admin/\n"
        f"                token {tokens['projects']}\n"
        f"  notifier API  {notifier}/api/v1/   docs {notifier}/api/docs/   admin {notifier}/admin/\n"
        f"                token {tokens['notifier']}\n"
        f"  Redis         {redis_url}\n"
        "  user dev, password dev (both admins); Ctrl-C stops everything\n"
    )


def main() -> int:
    environ = dict(os.environ)
    host, api_port, notifier_port = environ["HOST"], environ["API_PORT"], environ["NOTIFIER_PORT"]
    try:
        for port in (api_port, notifier_port):
            http_ready(f"http://{host}:{port}/readyz", timeout=READY_TIMEOUT, exited=lambda: None)
    except RuntimeError as exc:
        print(f"make run: {exc}; see the lines above", file=sys.stderr, flush=True)
        return 1
    tokens = {
        "projects": dev_token("projects", environ),
        "notifier": dev_token("notifier", {**environ, "DATABASE_URL": environ["NOTIFIER_DATABASE_URL"]}),
    }
    print(summary(host, api_port, notifier_port, tokens, environ.get("REDIS_URL", "")), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
