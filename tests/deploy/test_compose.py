"""docker-compose.yml and the Dockerfiles, held against the code: this machine has no container engine, so
the containers never run here, but everything they name must exist.

- ``docker-compose config`` validates the file (Debian's ``docker-compose``; ``make test`` installs it as root).
- Every command they run names a manage.py command, option, module or file that exists.
- Every environment variable they set is one the code reads (renaming a setting fails here), and
  each service's settings load with exactly compose's environment and pass ``check --deploy``.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, tool_path

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILES = {"projects": REPO / "services" / "projects" / "Dockerfile",
               "notifier": REPO / "services" / "notifier" / "Dockerfile"}  # fmt: skip
#: What compose's ``${NAME:?...}`` variables are set to here (each must be set by whoever deploys).
REQUIRED = {
    "DJANGO_SECRET_KEY": "compose-check-" + "k" * 40,
    "NOTIFIER_SECRET_KEY": "compose-check-" + "n" * 40,
    "WEBHOOK_MASTER_KEY": "whsec_" + "w" * 32,
}
#: Variables read by something other than this code, and what reads them.
READ_ELSEWHERE = {
    "DJANGO_SETTINGS_MODULE": "Django",
    "POSTGRES_USER": "the postgres image",
    "POSTGRES_PASSWORD": "the postgres image",
    "POSTGRES_DB": "the postgres image",
    "PYTHONUNBUFFERED": "Python",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip",
    "PROMETHEUS_MULTIPROC_DIR": "prometheus_client (multiprocess mode of the notifier worker's metrics)",
    "OTEL_TRACES_EXPORTER": "codegen_telemetry.tracing (tracing_exporter_wanted) and the OpenTelemetry SDK",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "the OpenTelemetry SDK's OTLP exporter",
    "OTEL_SERVICE_NAME": "the OpenTelemetry SDK (a process's service.name)",
}
#: The functions through which this code reads its environment (codegen_config).
ENV_READERS = {"env_str", "env_int", "env_float", "env_bool", "env_list", "env_duration", "env_durations",
               "env_master_key"}  # fmt: skip


def _interpolate(value: str) -> str:
    """Compose's ``${NAME:?message}`` and ``${NAME:-default}`` as a deployment with REQUIRED set sees them."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        return REQUIRED[name] if kind == ":?" else os.environ.get(name) or rest

    return re.sub(r"\$\{(\w+)(:\?|:-)([^}]*)\}", one, value)


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # anchors and merge keys resolved by the loader


def app_services() -> dict[str, dict[str, Any]]:
    """The services built from this repository (not the postgres and redis images)."""
    return {name: spec for name, spec in compose()["services"].items() if "build" in spec}


def service_of(spec: dict[str, Any]) -> str:
    return "notifier" if "notifier" in spec["build"]["dockerfile"] else "projects"


def dockerfile_commands(path: Path) -> list[list[str]]:
    """The CMD (exec form) and the python commands of the RUN lines of a Dockerfile."""
    text = path.read_text().replace("\\\n", " ")
    commands = [yaml.safe_load(line[4:]) for line in text.splitlines() if line.startswith("CMD ")]
    for line in text.splitlines():
        if line.startswith("RUN ") and " python " in f" {line} ":
            words = shlex.split(line[4:])
            commands.append(words[next(i for i, w in enumerate(words) if w == "python") :])
    return commands


def all_commands() -> list[tuple[str, list[str]]]:
    """(service, command) of every process compose and the Dockerfiles start."""
    found = [(service_of(spec), list(spec["command"])) for spec in app_services().values()]
    found += [(service, command) for service, path in DOCKERFILES.items() for command in dockerfile_commands(path)]
    return found


def env_of(spec: dict[str, Any], service: str) -> dict[str, str]:
    """A compose service's environment as its container sees it: the Dockerfile's ENV, then compose's."""
    env: dict[str, str] = {}
    for line in DOCKERFILES[service].read_text().splitlines():
        if line.startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in shlex.split(line[4:])))
    env.update({key: _interpolate(str(value)) for key, value in (spec.get("environment") or {}).items()})
    return env


@cache
def names_the_code_reads() -> frozenset[str]:
    """Every environment variable name passed literally to codegen_config's readers in the services,
    the shared packages and deploy/."""
    names = set()
    for root in ("services", "shared", "deploy"):
        for path in (REPO / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if name in ENV_READERS and isinstance(node.args[0].value, str):
                        names.add(node.args[0].value)
    return frozenset(names)


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    """``env`` for a manage.py or import run on this machine (its PATH, this interpreter)."""
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    return {**keep, **env}


@cache
def management_commands(service: str) -> frozenset[str]:
    settings = "projects_service.settings.test" if service == "projects" else "notifier_service.settings.test"
    done = subprocess.run(
        [sys.executable, str(REPO / "services" / service / "manage.py"), "help", "--commands"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return frozenset(done.stdout.split())


def test_docker_compose_validates_the_file():
    binary = tool_path("docker-compose", "Debian: apt-get install docker-compose")
    env = {key: value for key, value in os.environ.items() if key not in REQUIRED}
    missing = subprocess.run([binary, "-f", str(COMPOSE), "config", "-q"], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "DJANGO_SECRET_KEY" in missing.stderr  # secrets are demanded, not defaulted
    done = subprocess.run([binary, "-f", str(COMPOSE), "config", "-q"], env={**env, **REQUIRED}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("service, command", all_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_command_names_what_exists(service, command):
    program, args = Path(command[0]).name, command[1:]
    if program == "python":
        manage = REPO / args[0]
        assert manage.is_file(), args[0]
        name, options = args[1], [arg.split("=")[0] for arg in args[2:] if arg.startswith("--")]
        assert name in management_commands(service), f"{args[0]} has no command {name!r}"
        help_text = subprocess.run(
            [sys.executable, str(manage), name, "--help"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": f"{service}_service.settings.test"},
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        for option in options:
            assert option in help_text, f"manage.py {name} has no option {option}"
    elif program == "gunicorn":
        config = args[args.index("-c") + 1]
        chdir = REPO / args[args.index("--chdir") + 1]
        assert (REPO / config).is_file() and chdir.is_dir(), (config, chdir)
        module = args[-1]
        assert (chdir / (module.replace(".", "/") + ".py")).is_file(), f"no module {module} under {chdir}"
        assert re.search(r"^application\s*=", (chdir / (module.replace(".", "/") + ".py")).read_text(), re.M)
    elif program == "notifier-worker":
        scripts = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())["project"]["scripts"]
        assert program in scripts, f"services/{service} installs no command {program}"
        assert (
            "--worker-shutdown-timeout" not in args or int(args[args.index("--worker-shutdown-timeout") + 1]) < 30_000
        )
    else:
        pytest.fail(f"a command this test does not know how to check: {command}")


@pytest.mark.parametrize("name", sorted(app_services()))
def test_every_variable_compose_sets_is_read(name):
    spec = app_services()[name]
    service = service_of(spec)
    unread = sorted(var for var in env_of(spec, service) if var not in names_the_code_reads() | set(READ_ELSEWHERE))
    assert not unread, f"{name} sets {unread}, which nothing reads (renamed or removed?)"


@pytest.mark.parametrize("name", sorted(app_services()))
def test_each_service_starts_with_exactly_composes_environment(name, tmp_path):
    """The settings load from compose's environment alone (every required variable set) and `check --deploy`
    is clean, with the secure-redirect switch compose sets. A tmpfs compose mounts is a directory here."""
    spec = app_services()[name]
    service = service_of(spec)
    env = service_env(service, env_of(spec, service))
    for mount in spec.get("tmpfs", []):
        for key, value in env.items():
            if value == mount:
                env[key] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, str(REPO / "services" / service / "manage.py"), "check", "--deploy", "--fail-level=WARNING"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    silenced = "security.W008"  # SECURE_SSL_REDIRECT off: compose runs behind a proxy that redirects
    issues = set(re.findall(r"^\S*: \((\S+)\)", done.stderr, re.M))
    clean = done.returncode == 0 or ("System check identified" in done.stderr and issues <= {silenced})
    assert clean, done.stdout + done.stderr
