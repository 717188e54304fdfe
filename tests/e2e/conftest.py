"""End-to-end fixtures: the relay tests' processes, plus a migrated notifier database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest

from tests.relay.conftest import database_url, processes, redis_url  # noqa: F401
from tests.support import NOTIFIER_MANAGE, REPO


@pytest.fixture
def notifier_db(postgres_server: Any) -> str:
    """A new, migrated database for the notifier (the deployments do not share one)."""
    url = postgres_server.create_database(f"notifier_{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test", "DATABASE_URL": url,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")])}  # fmt: skip
    subprocess.run([sys.executable, str(NOTIFIER_MANAGE), "migrate", "-v0"], env=env, check=True, timeout=120)
    return url


def notifier_worker_env(notifier_db: str, smtp_port: int) -> dict[str, str]:
    """Environment of a notifier worker process on ``notifier_db``, mailing to a loopback sink."""
    return {
        "DJANGO_SETTINGS_MODULE": "notifier_service.settings.test",
        "DATABASE_URL": notifier_db,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "notifier")]),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "PYTHONFAULTHANDLER": "1",
    }


def notifier_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the notifier's database."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()
