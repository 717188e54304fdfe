"""The production topology on one machine, without Docker: what docker-compose.yml describes, as processes.

PostgreSQL (one database per service), Redis (append-only, noeviction) and an SMTP sink (the
notifier's e-mails, kept as files) as the tests start them; then, with production settings (plain
HTTP on loopback: ``DJANGO_SECURE_SSL_REDIRECT=false``, as compose sets it), migrations and
``collectstatic`` of both services, the projects API under gunicorn (``deploy/gunicorn.conf.py``),
two relays, the notifier worker, its delivery worker, and the notifier API under gunicorn.

``make production`` runs it in the foreground (``python -m devinfra.production``) on the ports of
``PORT_VARIABLES``; ``tests/e2e/test_production.py`` runs the README walkthrough through it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devinfra.foreground import ForegroundStop
from devinfra.ports import free_port
from devinfra.postgres import PostgresServer
from devinfra.processes import http_ready
from devinfra.prometheus import PrometheusServer, PrometheusUnavailable, prometheus_binary
from devinfra.redis import RedisServer
from devinfra.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GUNICORN_CONFIG = REPO / "deploy" / "gunicorn.conf.py"
#: The administrator `make production` creates in both services (the password is printed).
ADMIN = "admin"
#: Seconds each process has to exit after SIGTERM: compose's ``stop_grace_period``.
GRACE_SECONDS = 30.0


@dataclass
class Topology:
    """Every server and process of the production form; ``start()``, ``stop()``, and the processes by name."""

    api_port: int = field(default_factory=free_port)
    notifier_port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="production-")))
    #: Extra environment of the notifier's processes.
    notifier_extra: dict[str, str] = field(default_factory=dict)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    #: Each relay's metrics port (OUTBOX_METRICS_PORT), for Prometheus to scrape.
    relay_metrics_ports: dict[str, int] = field(
        default_factory=lambda: {"relay-1": free_port(), "relay-2": free_port()}
    )
    #: The notifier worker's metrics port (NOTIFIER_METRICS_PORT: the sum of its processes, multiprocess mode).
    worker_metrics_port: int = field(default_factory=free_port)
    #: The delivery worker's metrics port (deliveries_run --metrics-port).
    deliveries_metrics_port: int = field(default_factory=free_port)
    postgres_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    #: The SMTP sink the notifier sends its e-mails to (each kept in ``root/mail``).
    smtp_port: int = field(default_factory=free_port)
    prometheus_port: int = field(default_factory=free_port)
    #: Start a Prometheus that scrapes every process and evaluates deploy/prometheus/alerts.yml.
    with_prometheus: bool = False
    prometheus: PrometheusServer | None = None
    smtp: SmtpSink | None = None
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    projects_env: dict[str, str] = field(default_factory=dict)
    notifier_env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def notifier_url(self) -> str:
        return f"http://127.0.0.1:{self.notifier_port}"

    def start(self) -> Topology:
        """Start the servers, prepare both databases and static files, start every process; wait until ready."""
        self.postgres = PostgresServer(port=self.postgres_port).start()
        self.redis = RedisServer(port=self.redis_port, root=self.root / "redis").start()
        self.smtp = SmtpSink(self.smtp_port, mailbox=self.root / "mail")
        common = {
            **os.environ,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "REDIS_URL": self.redis.url,
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": "2",
            "PYTHONFAULTHANDLER": "1",
        }
        master_key = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()  # both services hold it
        self.projects_env = {
            **common,
            "DJANGO_SETTINGS_MODULE": "projects_service.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": self.postgres.create_database("projects"),
            "DJANGO_STATIC_ROOT": str(self.root / "static" / "projects"),
            "OUTBOX_WAKEUP": "notify",
            "WEBHOOK_MASTER_KEY": master_key,
        }
        self.notifier_env = {
            **common,
            "DJANGO_SETTINGS_MODULE": "notifier_service.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": self.postgres.create_database("notifier"),
            "DJANGO_STATIC_ROOT": str(self.root / "static" / "notifier"),
            "WEBHOOK_MASTER_KEY": master_key,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp_port),
            **self.notifier_extra,
        }
        for service in ("projects", "notifier"):
            self.manage(service, "migrate", "--no-input", "-v0")
            self.manage(service, "collectstatic", "--no-input", "-v0")
            self.manage(service, "createsuperuser", "--no-input", f"--username={ADMIN}", "--email=admin@localhost",
                        DJANGO_SUPERUSER_PASSWORD=self.admin_password)  # fmt: skip
        self.start_processes()
        if self.with_prometheus:
            self.prometheus = PrometheusServer(
                self.scrape_targets(), port=self.prometheus_port, root=self.root / "prometheus"
            ).start()
        return self

    def samples_env(self, env: dict[str, str], name: str) -> dict[str, str]:
        """``env`` with a PROMETHEUS_MULTIPROC_DIR of the process ``name`` (its workers' metrics summed)."""
        samples = self.root / "metrics" / name
        samples.mkdir(parents=True, exist_ok=True)
        return {**env, "PROMETHEUS_MULTIPROC_DIR": str(samples)}

    def worker_env(self) -> dict[str, str]:
        """The notifier worker's environment: the notifier's, plus its metrics port and multiprocess directory."""
        env = self.samples_env(self.notifier_env, "notifier-worker")
        return {**env, "NOTIFIER_METRICS_PORT": str(self.worker_metrics_port), "NOTIFIER_METRICS_ADDR": "127.0.0.1"}

    def scrape_targets(self) -> dict[str, list[str]]:
        """What Prometheus scrapes, by job (the jobs deploy/prometheus/alerts.yml names)."""
        return {
            "outbox-relay": [f"127.0.0.1:{port}" for port in self.relay_metrics_ports.values()],
            "notifier": [f"127.0.0.1:{self.notifier_port}"],
            "projects-api": [f"127.0.0.1:{self.api_port}"],
            "notifier-worker": [f"127.0.0.1:{self.worker_metrics_port}"],
            "notifier-deliveries": [f"127.0.0.1:{self.deliveries_metrics_port}"],
        }

    def manage(self, service: str, *args: str, **env: str) -> str:
        """Run ``manage.py`` of ``service`` with its production environment; its output."""
        base = self.projects_env if service == "projects" else self.notifier_env
        done = subprocess.run(
            [sys.executable, str(REPO / "services" / service / "manage.py"), *args],
            env={**base, **env}, cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} ({service}) failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def token(self, service: str) -> str:
        """The admin's API token of ``service`` (created on first use)."""
        return self.manage(service, "drf_create_token", ADMIN).split()[2]

    def commands(self) -> dict[str, tuple[list[str], dict[str, str]]]:
        """Each process's command line and environment, by name (the names of docker-compose.yml)."""
        gunicorn = [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONFIG)]
        relay = [sys.executable, str(REPO / "services" / "projects" / "manage.py"), "outbox_relay"]
        relay_env = {name: {**self.projects_env, "OUTBOX_METRICS_PORT": str(port), "OUTBOX_METRICS_ADDR": "127.0.0.1"}
                     for name, port in self.relay_metrics_ports.items()}  # fmt: skip
        return {
            "api": ([*gunicorn, "--chdir", "services/projects", "--bind", f"127.0.0.1:{self.api_port}",
                     "projects_service.wsgi"], self.samples_env(self.projects_env, "api")),
            "relay-1": (relay, relay_env["relay-1"]),
            "relay-2": (relay, relay_env["relay-2"]),
            "notifier-worker": ([str(BIN / "notifier-worker"), "--processes", "2", "--threads", "8",
                                 "--worker-shutdown-timeout", "20000"], self.worker_env()),
            "notifier-deliveries": ([sys.executable, str(REPO / "services" / "notifier" / "manage.py"),
                                     "deliveries_run", "--threads", "16",
                                     "--metrics-port", str(self.deliveries_metrics_port)], self.notifier_env),
            "notifier-api": ([*gunicorn, "--chdir", "services/notifier", "--bind", f"127.0.0.1:{self.notifier_port}",
                              "notifier_service.wsgi"], self.samples_env(self.notifier_env, "notifier-api")),
        }  # fmt: skip

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def start_processes(self, names: list[str] | None = None) -> None:
        """Start the processes (all, or ``names``), each in its own process group; wait until both APIs are ready."""
        (self.root / "logs").mkdir(exist_ok=True)
        for name, (args, env) in self.commands().items():
            if names is not None and name not in names:
                continue
            with open(self.log_path(name), "ab") as log:
                self.processes[name] = subprocess.Popen(
                    args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        for url in (f"{self.api_url}/readyz", f"{self.notifier_url}/readyz"):
            http_ready(url, timeout=60.0, exited=self._exited)

    def _exited(self) -> str | None:
        """Which of the processes has exited, with the end of its log (None while all run)."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return f"{name} exited ({process.returncode}):\n{self.log_path(name).read_text()[-3000:]}"
        return None

    def terminate(
        self, grace: float = GRACE_SECONDS, names: list[str] | None = None
    ) -> dict[str, tuple[int | None, float]]:
        """SIGTERM every process (or those ``names``) at once, as compose's stop does; each one's exit code
        (None: still running after ``grace`` seconds, then killed) and the seconds it took."""
        started = time.monotonic()
        stopping = {name: p for name, p in self.processes.items() if names is None or name in names}
        for process in stopping.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        outcome: dict[str, tuple[int | None, float]] = {}
        for name, process in stopping.items():
            try:
                code: int | None = process.wait(timeout=max(0.0, started + grace - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            outcome[name] = (code, time.monotonic() - started)
        for name, process in stopping.items():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything left behind (none, when the stop was clean)
            process.wait()
            del self.processes[name]
        return outcome

    def stop(self) -> None:
        """Stop every process, then Redis and PostgreSQL."""
        self.terminate(grace=GRACE_SECONDS)
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.smtp is not None:
            self.smtp.close()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


#: Each port `make production` uses, the variable that sets it, and its default.
PORT_VARIABLES = {
    "api_port": ("PORT", 8000),
    "notifier_port": ("NOTIFIER_PORT", 8001),
    "postgres_port": ("PRODUCTION_POSTGRES_PORT", 5442),
    "redis_port": ("PRODUCTION_REDIS_PORT", 6392),
    "smtp_port": ("PRODUCTION_SMTP_PORT", 1025),
    "prometheus_port": ("PRODUCTION_PROMETHEUS_PORT", 9090),
    "worker_metrics_port": ("PRODUCTION_WORKER_METRICS_PORT", 9100),
    "relay_1_metrics_port": ("PRODUCTION_RELAY_1_METRICS_PORT", 9101),
    "relay_2_metrics_port": ("PRODUCTION_RELAY_2_METRICS_PORT", 9102),
    "deliveries_metrics_port": ("PRODUCTION_DELIVERIES_METRICS_PORT", 9110),
}


def ports_from(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Topology's ports from ``environ`` (``PORT_VARIABLES``). Raises ValueError naming the variable and
    the reason when one is not a port, or two are the same."""
    chosen: dict[str, int] = {}
    for name, (variable, default) in PORT_VARIABLES.items():
        text = environ.get(variable, "").strip() or str(default)
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise ValueError(f"{variable}={text!r}: not a TCP port (1-65535)")
        chosen[name] = int(text)
    by_port: dict[int, list[str]] = {}
    for name, port in chosen.items():
        by_port.setdefault(port, []).append(PORT_VARIABLES[name][0])
    clashes = [" and ".join(variables) for variables in by_port.values() if len(variables) > 1]
    if clashes:
        raise ValueError(f"{clashes[0]}: the same port twice")
    relays = {"relay-1": chosen.pop("relay_1_metrics_port"), "relay-2": chosen.pop("relay_2_metrics_port")}
    return {**chosen, "relay_metrics_ports": relays}


def main() -> None:
    """`python -m devinfra.production` (make production): run the production topology until Ctrl-C."""
    argparse.ArgumentParser(
        description=main.__doc__, epilog="ports: " + ", ".join(f"{v} ({d})" for v, d in PORT_VARIABLES.values())
    ).parse_args()
    try:
        ports = ports_from(os.environ)
    except ValueError as exc:
        sys.exit(f"make production: {exc}")
    try:
        prometheus_binary()
        with_prometheus = True
    except PrometheusUnavailable as exc:
        print(f"{exc}: running without Prometheus", flush=True)
        with_prometheus = False
    topology = Topology(**ports, with_prometheus=with_prometheus)
    stop = ForegroundStop()

    def all_running() -> None:
        for name, process in topology.processes.items():
            if process.poll() is not None:
                sys.exit(f"{name} exited ({process.returncode}); see {topology.log_path(name)}")

    try:
        topology.start()
        print(
            f"production topology up (logs in {topology.root / 'logs'}):\n"
            f"  projects API  {topology.api_url}/api/v1/  admin {topology.api_url}/admin/  "
            f"token {topology.token('projects')}\n"
            f"  notifier API  {topology.notifier_url}/api/v1/  admin {topology.notifier_url}/admin/  "
            f"token {topology.token('notifier')}\n"
            + (f"  Prometheus    {topology.prometheus.url}/alerts  (deploy/prometheus/alerts.yml)\n"
               if topology.prometheus else "")
            + f"  e-mail        SMTP sink on 127.0.0.1:{topology.smtp_port}; messages in {topology.root / 'mail'}\n"
            f"  PostgreSQL    127.0.0.1:{topology.postgres_port}  Redis 127.0.0.1:{topology.redis_port}\n"
            f"  admin user {ADMIN!r}, password {topology.admin_password!r}; Ctrl-C stops everything",
            flush=True,
        )  # fmt: skip
        stop.wait(all_running)
    finally:
        topology.stop()


if __name__ == "__main__":
    main()
