"""A PostgreSQL restart under a steady stream: no message fails for it, none is lost (guarantee 4)."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from codegen_contracts import EVENTS_QUEUE, envelope_to_builtins
from devinfra.postgres import PostgresServer
from tests.notifier.conftest import envelope, events_message, generation_payload, worker_env
from tests.support import NOTIFIER_MANAGE, Processes, wait_for

#: Messages of the stream, and how many a second.
COUNT, RATE = 900, 150


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_postgresql_restart_fails_no_message_and_loses_none(notifier_redis, smtp_sink, tmp_path):
    # given a worker (2 processes × 8 threads) keeping its connections, on a cluster of its own
    pg = PostgresServer().start()
    stream: threading.Thread | None = None
    processes: Processes | None = None
    try:
        url = pg.create_database("notifier_restart")
        env = worker_env(
            url, notifier_redis, smtp_sink.port, DATABASE_CONN_MAX_AGE="600", NOTIFIER_MESSAGE_MIN_BACKOFF_MS="100"
        )
        processes = Processes(env, tmp_path)
        migrated = processes.run([sys.executable, str(NOTIFIER_MANAGE), "migrate", "-v0"])
        assert migrated.returncode == 0, migrated.stderr
        worker = processes.worker("notifications.worker", processes=2, threads=8)
        deliverer = processes.notifier_deliverer()
        wait_for(lambda: processes.output(worker).count("Worker process is ready") == 2, what="workers up")

        # when a steady stream of events flows, and PostgreSQL restarts in the middle of it
        event_ids: list[str] = []

        def produce() -> None:
            broker = RedisBroker(url=notifier_redis)
            broker.declare_queue(EVENTS_QUEUE)
            started = time.monotonic()
            for n in range(COUNT):
                event = envelope(
                    payload=generation_payload(webhook_url=None), event_id=uuid.uuid4(), aggregate_id=str(n)
                )
                broker.enqueue(events_message(envelope_to_builtins(event), str(event.event_id)))
                event_ids.append(str(event.event_id))
                time.sleep(max(0.0, started + (n + 1) / RATE - time.monotonic()))
            broker.close()

        stream = threading.Thread(target=produce)
        stream.start()
        wait_for(lambda: _rows(url, "SELECT count(*) FROM notifier_inbox")[0][0] >= COUNT // 3, what="a third in")
        pg.stop_keep()
        pg.start_again()
        stream.join()
        stream = None

        # then every event is taken in once, and no message failed (none counted, none dead-lettered)
        wait_for(lambda: _rows(url, "SELECT count(*) FROM notifier_inbox")[0][0] >= COUNT, timeout=60, what="all in")
        assert {e for (e,) in _rows(url, "SELECT event_id::text FROM notifier_inbox")} == set(event_ids)
        assert _rows(url, "SELECT count(*) FROM notifier_notification")[0][0] == COUNT
        assert _rows(url, "SELECT message_id, last_error FROM notifier_poison_message") == []
        client = redis.Redis.from_url(notifier_redis)
        assert client.hlen(f"dramatiq:{EVENTS_QUEUE}.XQ.msgs") == 0
        wait_for(lambda: len(smtp_sink.messages) >= COUNT, timeout=60, what="every e-mail sent")
        output = processes.output(worker)
        assert "Failed to process message" not in output, output[-3000:]
        assert "database connection lost" in output  # the restart did reach the worker's connections
        assert "Traceback" not in processes.output(deliverer), processes.output(deliverer)[-3000:]
    finally:
        if stream is not None:
            stream.join()
        if processes is not None:
            processes.stop_all()
        pg.stop()


def _session_ended(connection: Any) -> None:
    """The server ends the session (pg_terminate_backend, as a restart does): its error carries a SQLSTATE."""
    from tests.notifier.conftest import notifier_database_url

    with psycopg.connect(notifier_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])


def _socket_cut(connection: Any) -> None:
    """The socket closes before the server's goodbye is read (a restart, a network drop): psycopg's own error
    has no SQLSTATE (CI saw a delivery worker's record fail so, on "server closed the connection unexpectedly")."""
    with socket.socket(fileno=os.dup(connection.connection.pgconn.socket)) as cut:
        cut.shutdown(socket.SHUT_RDWR)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lose", [_session_ended, _socket_cut])
def test_a_connection_lost_inside_a_transaction_runs_again_on_a_new_one(lose):
    """Leaving ``transaction.atomic()`` after the connection failed reconnects at once, so the connection looks
    healthy: the error itself says it was the connection's."""
    from django.db import connection, transaction

    from notifications.reconnect import on_fresh_connection

    tries = []

    def action() -> int:
        tries.append(1)
        with transaction.atomic():
            if len(tries) == 1:  # the first try loses its connection under it
                lose(connection)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone()[0]

    connection.ensure_connection()
    assert on_fresh_connection(action) == 1
    assert len(tries) == 2
