"""Fixtures for relay tests: real Redis, relays and Dramatiq workers as real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from codegen_config import RedisTarget
from tests.support import BIN, MANAGE, REPO, Processes, wait_for  # noqa: F401  (re-exported for the tests)


@pytest.fixture
def redis_url(redis_server: Any, settings: Any) -> Iterator[str]:
    """The session Redis, emptied, and the projects settings pointing at it."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    settings.OUTBOX = {**settings.OUTBOX, "REDIS": RedisTarget(url=redis_server.url)}
    yield redis_server.url
    client.close()


@pytest.fixture
def database_url(transactional_db: Any) -> str:
    """URL of the test database, for relay processes (rows must be committed to be seen)."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def processes(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "projects_service.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "services" / "projects")]),
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash of a process prints every thread's stack
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop_all()


def received(redis_url: str) -> list[str]:
    """Event ids the test worker received, in order (with repeats)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [item.decode().split("|")[0] for item in client.lrange("test:received", 0, -1)]
    finally:
        client.close()


def give_back_held_messages(redis_url: str) -> None:
    """Requeue what stopped workers still held, now: Dramatiq's dead-worker maintenance, timeout 0.

    A fetch whose reply is lost as Redis stops leaves its messages in the live worker's ack set,
    which plain Dramatiq gives back only after that worker has stopped heartbeating for the
    heartbeat timeout (60 s). The notifier's broker takes a new worker id on reconnect instead.
    """
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker

    from codegen_contracts import EVENTS_QUEUE

    # Timeout 0: every worker counts as dead, so call this only once the consumers have stopped.
    broker = RedisBroker(url=redis_url, heartbeat_timeout=0, maintenance_chance=MAINTENANCE_SCALE)
    try:
        broker.do_qsize(EVENTS_QUEUE)  # any command on the queue runs the maintenance (chance 100%)
    finally:
        broker.close()
