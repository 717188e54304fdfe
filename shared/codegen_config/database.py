"""``DATABASES["default"]`` from a database URL, the same way in both services."""

from __future__ import annotations

from typing import Any

import environ

from codegen_config.env import env_bool, env_int


def database_settings(url: str, *, server_side_binding: bool, health_checks: bool) -> dict[str, Any]:
    """Parse ``url`` (django-environ's URL schemes) and tune the connection for its engine.

    SQLite: ``BEGIN IMMEDIATE`` (the write lock up front: two writers never both read the old
    status, SQLite's stand-in for ``SELECT … FOR UPDATE``) and a busy timeout, no persistent
    connections. PostgreSQL: connections kept ``DATABASE_CONN_MAX_AGE`` seconds (60), statements
    prepared after 5 uses unless ``DATABASE_PREPARED_STATEMENTS=false`` (poolers in transaction mode
    that cannot keep them); ``server_side_binding`` binds every statement on the server (else only
    the cursors that ask for it), ``health_checks`` checks a kept connection before each request.
    """
    config: dict[str, Any] = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
        config["CONN_MAX_AGE"] = 0
        return config
    config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    config["CONN_HEALTH_CHECKS"] = health_checks
    prepared = env_bool("DATABASE_PREPARED_STATEMENTS", True)
    options: dict[str, Any] = {"prepare_threshold": 5 if prepared else None}
    if server_side_binding:
        options["server_side_binding"] = True
    config["OPTIONS"] = options
    return config
