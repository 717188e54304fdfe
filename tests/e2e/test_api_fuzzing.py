"""Both HTTP APIs keep their published contract under any input: schemathesis, every check, all phases
(examples, coverage, fuzzing, and the stateful phase over the schemas' links), against each API run as
``make run`` runs it (development settings, runserver) on a real PostgreSQL.

The seed is fixed so that CI repeats one run; the README says how to run it alone with a fresh seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devinfra.ports import free_port
from devinfra.processes import http_ok
from tests.support import MANAGE, NOTIFIER_MANAGE, REPO, Processes, wait_for

pytestmark = pytest.mark.e2e

#: The seed of CI's run; FUZZ_SEED picks another (a failure prints the seed that repeats it).
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
#: Test cases per operation and phase; FUZZ_EXAMPLES runs more.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))

#: What the notifier's API has to show: notifications, deliveries (with an attempt) and webhook endpoints of two
#: projects, held messages.
NOTIFIER_SEED_DATA = """
from notifications.delivery.runner import deliveries_send_due
from notifications.intake.inbox import inbox_take
from tests.notifier.conftest import envelope, generation_payload
from tests.notifier.test_api import hold_one_of_each

for project_id in (4, 5):
    inbox_take(envelope(payload=generation_payload(project_id=project_id, webhook_url="http://127.0.0.1:9/hooks")))
deliveries_send_due()
hold_one_of_each()
"""


@dataclass
class Api:
    name: str
    url: str
    token: str
    process: subprocess.Popen[str]


def _start(processes: Processes, name: str, manage: Path, settings: str, database: str, seed: str = "") -> Api:
    env = {"DJANGO_SETTINGS_MODULE": settings, "DATABASE_URL": database}
    for command in (["migrate", "-v0"], ["ensure_dev_user"]):
        done = processes.run([sys.executable, str(manage), *command], **env)
        assert done.returncode == 0, done.stderr
    token = done.stdout.strip().split()[-1]
    if seed:
        seeded = processes.run([sys.executable, str(manage), "shell", "-c", seed], **env)
        assert seeded.returncode == 0, seeded.stderr
    port = free_port()
    process = processes.start([sys.executable, str(manage), "runserver", f"127.0.0.1:{port}", "--noreload"], **env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(f"{url}/healthz") or process.poll() is not None, timeout=60, what=name)
    assert process.poll() is None, Processes.output(process)
    return Api(name, url, token, process)


@pytest.fixture(scope="module")
def apis(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Api]]:
    python_path = os.pathsep.join([str(REPO), str(REPO / "services" / "projects"), str(REPO / "services" / "notifier")])
    env = {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
    processes = Processes(env, tmp_path_factory.mktemp("fuzzed"))
    try:
        yield {
            "projects": _start(processes, "projects API", MANAGE, "projects_service.settings.dev",
                               postgres_server.create_database("fuzz_projects")),
            "notifier": _start(processes, "notifier API", NOTIFIER_MANAGE, "notifier_service.settings.dev",
                               postgres_server.create_database("fuzz_notifier"), NOTIFIER_SEED_DATA),
        }  # fmt: skip
    finally:
        processes.stop_all()


@pytest.mark.parametrize("name", ["projects", "notifier"])
def test_schemathesis_finds_nothing(apis: dict[str, Api], name: str, tmp_path: Path) -> None:
    api = apis[name]
    command = [
        str(Path(sys.executable).parent / "st"), "--config-file", str(REPO / "schemathesis.toml"), "run",
        f"{api.url}/api/schema/", "--header", f"Authorization: Token {api.token}", "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--generation-database", "none",
        "--workers", "1", "--request-timeout", "30", "--report", "junit", "--report-dir", str(tmp_path),
        "--no-color",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    output = run.stdout
    summary = output[output.find("= FAILURES =") if "= FAILURES =" in output else -3000 :][:12000]
    assert run.returncode == 0, f"schemathesis found failures in the {api.name}:\n{summary}\n{run.stderr[-2000:]}"
    assert " passed" in summary and "failure" not in summary.lower(), summary
    log = Processes.output(api.process)
    assert "Traceback" not in log and '" 500 ' not in log, log[-4000:]
