"""The embedded SQLite default: migrations, atomic outbox writes, and one winner per race.

Each test runs the real commands in a subprocess with DATABASE_URL pointing at a new SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "services" / "projects" / "manage.py"


def run(args: list[str], db: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.dev",
        "DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
    }
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, cwd=REPO, **kwargs)


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    result = run([sys.executable, str(MANAGE), "migrate", "--no-input"], db)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def sqlite_db(migrated_template: Path, tmp_path: Path) -> Path:
    db = tmp_path / "projects.sqlite3"
    shutil.copyfile(migrated_template, db)
    return db


def test_sqlite_writes_events_atomically_and_serializes_transitions(sqlite_db: Path):
    result = run([sys.executable, "-m", "tests.projects.sqlite_scenario"], sqlite_db)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["vendor"] == "sqlite"
    assert "'generating' to 'archived'" in seen["invalid"]
    assert seen["totals"] == [9, 36]
    assert seen["race"] == {"won": 1, "409": 15}
    assert seen["generated_projects"] == 1  # the rolled-back one left nothing
    assert seen["events"][:2] == ["generation.started", "generation.running"]
    assert len(seen["events"]) == 3 and seen["events"][2] in {"generation.completed", "generation.failed"}


def test_dev_user_command_prints_a_working_token(sqlite_db: Path):
    first = run([sys.executable, str(MANAGE), "ensure_dev_user"], sqlite_db)
    second = run([sys.executable, str(MANAGE), "ensure_dev_user"], sqlite_db)
    assert first.returncode == 0, first.stderr
    token = first.stdout.split("API token: ")[1].strip()
    assert len(token) == 40 and token in second.stdout


def test_dev_user_command_refuses_outside_development(sqlite_db: Path):
    refused = subprocess.run(
        [sys.executable, str(MANAGE), "ensure_dev_user"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "projects_service.settings.test",
            "DATABASE_URL": f"sqlite:///{sqlite_db}",
        },
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert refused.returncode != 0
    assert "only with development settings" in refused.stderr
