"""Configuration: production settings pass `check --deploy` and refuse to start without secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "services" / "projects" / "manage.py"


#: A master key for production settings (each test that is not about it gets one).
MASTER_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def manage(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "WEBHOOK_"))}
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], env={**clean, "WEBHOOK_MASTER_KEY": MASTER_KEY, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="projects_service.settings.production",
        DJANGO_SECRET_KEY="x" * 64 + "-production-secret-for-the-check-only",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_ALLOWED_HOSTS="projects.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize("hosts", ["*", "projects.example.com,*"])
def test_production_settings_refuse_any_host(tmp_path, hosts):
    result = manage(
        ["check", "--deploy"],
        DJANGO_SETTINGS_MODULE="projects_service.settings.production",
        DJANGO_SECRET_KEY="x" * 64 + "-production-secret-for-the-check-only",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_ALLOWED_HOSTS=hosts,
    )
    assert result.returncode != 0 and "'*' is refused in production" in result.stderr, result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = manage(
        ["check"],
        DJANGO_SETTINGS_MODULE="projects_service.settings.production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(("key", "reason"), [("", "is required"), ("short", "at least 24 bytes, got 5")])
def test_production_settings_refuse_to_start_without_a_usable_webhook_master_key(tmp_path, key, reason):
    env = {"WEBHOOK_MASTER_KEY": key} if key else {}
    result = subprocess.run(
        [sys.executable, str(MANAGE), "check"], capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEBHOOK_"))}, **env,
             "DJANGO_SETTINGS_MODULE": "projects_service.settings.production", "DJANGO_SECRET_KEY": "s" * 64,
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )  # fmt: skip
    assert result.returncode != 0 and "WEBHOOK_MASTER_KEY" in result.stderr and reason in result.stderr


def test_production_settings_refuse_to_start_without_a_database_url():
    result = manage(
        ["check"], DJANGO_SETTINGS_MODULE="projects_service.settings.production", DJANGO_SECRET_KEY="s" * 64
    )
    assert result.returncode != 0
    assert "DATABASE_URL is required" in result.stderr


def test_malformed_integer_setting_is_a_clear_error():
    result = manage(["check"], DJANGO_SETTINGS_MODULE="projects_service.settings.dev", API_PAGE_SIZE="many")
    assert result.returncode != 0
    assert "API_PAGE_SIZE must be an integer" in result.stderr


def test_prepared_statements_can_be_turned_off_for_poolers(monkeypatch):
    from projects_service.settings.base import database_from_url

    url = "postgres://u:p@db.example:5432/projects"
    assert database_from_url(url)["OPTIONS"]["prepare_threshold"] == 5
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert database_from_url(url)["OPTIONS"]["prepare_threshold"] is None
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "sometimes")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARED_STATEMENTS must be a boolean"):
        database_from_url(url)
