"""A Prometheus server for the production form and its test: Debian's ``prometheus`` on a free loopback
port, scraping the given targets every second and evaluating the project's alerting rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devinfra.ports import free_port
from devinfra.processes import http_ready, process_stop

#: The alerting rules every Prometheus of the project evaluates.
RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"


class PrometheusUnavailable(RuntimeError):
    """No prometheus binary on this machine."""


def prometheus_binary() -> str:
    """The ``prometheus`` server binary; PrometheusUnavailable with advice otherwise."""
    found = shutil.which("prometheus")
    if found is None:
        raise PrometheusUnavailable("No prometheus binary (Debian: apt-get install prometheus)")
    return found


@dataclass
class PrometheusServer:
    """``targets`` maps a job name to its ``host:port`` list (metrics path ``/metrics``)."""

    targets: dict[str, list[str]]
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="prometheus-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        """Write the configuration, start the server, wait until it is ready."""
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in self.targets.items()
            ],
        }
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = open(self.root / "prometheus.log", "wb")  # noqa: SIM115 - closed when the process ends
        self.process = subprocess.Popen(
            [prometheus_binary(), f"--config.file={self.root / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        http_ready(f"{self.url}/-/ready", timeout=timeout, exited=self._exited)
        return self

    def _exited(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        return f"prometheus exited:\n{self.log()[-3000:]}"

    def log(self) -> str:
        return (self.root / "prometheus.log").read_text(errors="replace")

    def _get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
        """An instant query: each series' labels and value."""
        return {
            tuple(sorted(item["metric"].items())): float(item["value"][1])
            for item in self._get("/api/v1/query", query=expr)["result"]
        }

    def value(self, expr: str) -> float | None:
        """The value of a query that yields one series (None when it yields none)."""
        found = self.query(expr)
        if len(found) > 1:
            raise RuntimeError(f"{expr} yields {len(found)} series")
        return next(iter(found.values()), None)

    def alerts(self) -> dict[str, str]:
        """Each active alert's name and state (pending or firing)."""
        return {alert["labels"]["alertname"]: alert["state"] for alert in self._get("/api/v1/alerts")["alerts"]}

    def stop(self) -> None:
        process_stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)
