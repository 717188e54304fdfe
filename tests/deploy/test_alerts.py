"""The alerting rules (deploy/prometheus/alerts.yml): valid for Prometheus, each alert unit-tested with
promtool, and every metric they read is one the code exports (a rename in the code fails here)."""

from __future__ import annotations

import re
import subprocess

import yaml
from prometheus_client import generate_latest

from outbox.metrics import RelayMetrics
from tests.support import REPO, tool_path

RULES = REPO / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yml"
#: Series Prometheus makes itself rather than a scraped process.
SYNTHETIC = {"up"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = tool_path("promtool", "Debian: apt-get install prometheus")
    return subprocess.run([binary, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60)


def test_promtool_checks_the_rules():
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_fires_and_resolves_as_its_unit_tests_say():
    done = promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    assert alerts <= tested, f"alerts without a unit test: {sorted(alerts - tested)}"


def _exported() -> set[str]:
    relay = generate_latest(RelayMetrics().registry).decode()
    names = set(re.findall(r"^# TYPE (\w+) ", relay, re.MULTILINE))
    names |= {f"{name}{suffix}" for name in names for suffix in ("_total", "_bucket", "_count", "_sum")}
    for module in ("metrics.py", "worker_metrics.py", "delivery/metrics.py"):
        source = (REPO / "services" / "notifier" / "notifications" / module).read_text()
        names |= set(re.findall(r'"(notifier_\w+)"', source))
    return names | {f"{name}{suffix}" for name in names for suffix in ("_total", "_bucket", "_count", "_sum")}


def test_the_rules_read_only_metrics_the_code_exports():
    rules = yaml.safe_load(RULES.read_text())["groups"]
    used = {
        name
        for group in rules
        for rule in group["rules"]
        for name in re.findall(r"\b([a-z_]+)(?=\{|\[|\)| >| ==)", rule["expr"])
        if name
        not in {
            "sum",
            "max",
            "rate",
            "absent",
            "by",
            "and",
            "or",
            "kind",
            "le",
            "histogram_quantile",
            "delta",
            "deriv",
            "state",
            "channel",
        }
    }
    assert used - SYNTHETIC <= _exported(), sorted(used - SYNTHETIC - _exported())
    assert {
        "outbox_oldest_pending_age_seconds",
        "notifier_held_messages",
        "notifier_event_lag_seconds_bucket",
        "notifier_delivery_oldest_due_seconds",
        "notifier_webhook_endpoints",
    } <= used
