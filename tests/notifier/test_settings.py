"""The notifier's production settings pass `check --deploy` and refuse to start without secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import NOTIFIER_MANAGE


def manage(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "WEBHOOK_"))}
    return subprocess.run(
        [sys.executable, str(NOTIFIER_MANAGE), *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "notifier_service.settings.production",
    "DJANGO_SECRET_KEY": "n" * 64 + "-notifier-production-secret-for-the-check",
    "WEBHOOK_MASTER_KEY": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "DJANGO_ALLOWED_HOSTS": "notifier.example.com",
}


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        ["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/n.db"
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_settings_need_the_webhook_master_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "WEBHOOK_MASTER_KEY"}
    result = manage(["check"], **env, DATABASE_URL=f"sqlite:///{tmp_path}/n.db")
    assert result.returncode != 0 and "WEBHOOK_MASTER_KEY" in result.stderr


def test_production_settings_need_a_database_url():
    result = manage(["check"], **PRODUCTION)
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr


#: Keys no signature could use, and why each is refused.
UNUSABLE = [
    ("short-secret", "at least 24 bytes, got 12"),
    ("whsec_not*base64!", "valid base64"),
    ("whsec_c2hvcnQ=", "at least 24 bytes, got 5"),
]


@pytest.mark.parametrize(
    ("variable", "secret", "reason"),
    [("WEBHOOK_MASTER_KEY", "", "at least 24 bytes, got 0")]
    + [(variable, *case) for variable in ("WEBHOOK_MASTER_KEY", "WEBHOOK_SECRET") for case in UNUSABLE],
)
def test_production_settings_refuse_a_key_no_signature_could_use(tmp_path, variable, secret, reason):
    result = manage(["check", "--deploy"], **{**PRODUCTION, variable: secret},
                    DATABASE_URL=f"sqlite:///{tmp_path}/n.db")  # fmt: skip
    assert result.returncode != 0 and f"{variable}: " in result.stderr and reason in result.stderr, result.stderr


def test_the_legacy_shared_secret_is_optional(tmp_path):
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], **{**PRODUCTION, "WEBHOOK_SECRET": ""},
                    DATABASE_URL=f"sqlite:///{tmp_path}/n.db")  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_production_settings_refuse_any_host(tmp_path):
    result = manage(["check", "--deploy"], **{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "notifier.example.com,*"},
                    DATABASE_URL=f"sqlite:///{tmp_path}/n.db")  # fmt: skip
    assert result.returncode != 0 and "'*' is refused in production" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("NOTIFIER_INTAKE_BATCH_MAX", "0", "NOTIFIER_INTAKE_BATCH_MAX: at least 1; got 0"),
        ("NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY", "-2", "NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY: at least 1; got -2"),
        ("NOTIFIER_ORDER_WAIT", "soon", "NOTIFIER_ORDER_WAIT"),
    ],
)
def test_a_setting_no_notifier_can_run_with_stops_it_at_start_naming_it(tmp_path, variable, value, says):
    result = manage(["check"], **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/n.db", **{variable: value})
    assert result.returncode != 0 and says in result.stderr, result.stderr[-2000:]
