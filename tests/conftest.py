"""Session fixtures: a real PostgreSQL started once, a clean database per test (pytest-django)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from codegen_telemetry import tracing_configure
from codegen_telemetry.tracing import tracing_disable
from devinfra.postgres import PostgresServer, PostgresUnavailable
from devinfra.redis import RedisServer, RedisUnavailable
from tests.support import unavailable


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, on a free loopback port."""
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server: PostgresServer) -> None:
    """Point Django's default database at the session's server (pytest-django creates test_*)."""
    from django.conf import settings

    settings.DATABASES["default"].update(
        HOST="127.0.0.1", PORT=str(postgres_server.port), USER=postgres_server.user, PASSWORD="", NAME="projects"
    )


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server (append-only, noeviction) for the whole session, on a free loopback port."""
    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def memory_spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test (spans exported as they end, kept in memory); off again after it."""
    exporter = InMemorySpanExporter()
    tracing_configure("tests", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing_disable()
