"""Database calls that outlive a PostgreSQL restart: a dead pooled connection is replaced, not blamed
on the message that happened to use it first.

After a restart every connection a worker thread keeps (``CONN_MAX_AGE``) is dead, and Django
finds out only when a statement fails. ``on_fresh_connection`` runs the call again on a new
connection when, and only when, the failure was the connection's: within a bound, so a database
that stays down still fails the message (which Dramatiq then retries later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection

from notifications.config import notifier_config

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: First wait before trying again on a new connection, in seconds (doubles, up to a second).
_FIRST_WAIT = 0.05


def connection_lost() -> bool:
    """Whether this thread's database connection is gone: closed, or no longer answering."""
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


#: SQLSTATEs that mean the server ended the session (admin or crash shutdown, not accepting
#: connections yet); class 08 is every connection exception.
_SESSION_ENDED = frozenset({"57P01", "57P02", "57P03"})


def connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (a Django database error) says the connection, not the statement, failed.

    Needed besides ``connection_lost``: leaving ``transaction.atomic()`` after such an error makes
    Django open a new connection at once, so the thread's connection looks healthy again. The server
    says so with a SQLSTATE; when it closed the socket without a word (a restart, seen as "the
    connection is closed" or "server closed the connection unexpectedly"), psycopg raises an
    OperationalError of its own, which has none.
    """
    cause = exc.__cause__
    if isinstance(cause, psycopg.OperationalError) and cause.sqlstate is None:
        return True
    sqlstate = getattr(cause, "sqlstate", None) or ""
    return sqlstate.startswith("08") or sqlstate in _SESSION_ENDED


def on_fresh_connection(action: Callable[[], T], *, within: float | None = None) -> T:
    """Run ``action``; when it fails because the connection died, run it again on a new one.

    Tries for up to ``within`` seconds (``NOTIFIER_DB_RECONNECT_SECONDS``), then raises the
    last error. Any other error, and any error inside an outer transaction, propagates at once.
    ``action`` must be safe to run again after a failure (its own transaction, or idempotent).
    """
    deadline: float | None = None  # set at the first failure: the hot path reads nothing
    wait = _FIRST_WAIT
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or not (connection_failure(exc) or connection_lost()):
                raise
            connection.close()
            if deadline is None:
                deadline = time.monotonic() + (notifier_config().db_reconnect_seconds if within is None else within)
            if time.monotonic() + wait > deadline:
                raise
            logger.warning("database connection lost (%s); trying again on a new one", str(exc).strip()[:200])
            time.sleep(wait)
            wait = min(wait * 2, 1.0)
