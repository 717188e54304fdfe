"""Gunicorn's configuration for both HTTP services: the compose file, the Dockerfiles and
`make production` all start gunicorn with ``-c deploy/gunicorn.conf.py``; each passes its own ``--bind``.

- Workers: ``gthread``, ``WEB_CONCURRENCY`` processes (default 2 × cores + 1) of ``GUNICORN_THREADS``
  threads (default 4). The views are short and database-bound; threads let one process wait on
  several queries, and a request that hangs ties up one thread rather than a whole process.
- Timeouts: a worker silent for ``GUNICORN_TIMEOUT`` seconds (30) is killed and replaced. On SIGTERM
  the workers finish the requests they hold for up to ``GUNICORN_GRACEFUL_TIMEOUT`` seconds (20),
  inside compose's ``stop_grace_period`` (30 s) so that nothing is cut short by SIGKILL.
- ``--max-requests`` 1,000 with a jitter of 100: each worker is replaced after about that many
  requests, not all at once, which bounds any slow leak.
- Access logs: one JSON object per line on stdout (``JsonAtomsLogger``), with the correlation id the
  API echoes, so that a log shipper needs no parser of its own. Gunicorn's own lines go the
  application's way (``codegen_telemetry.logging_config``): JSON unless ``LOG_FORMAT=plain``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any

from gunicorn import glogging

from codegen_config import env_int
from codegen_telemetry import logging_config

workers = env_int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4)
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
# The workers' heartbeat files: in memory, so that a slow or full disk cannot make them look hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

accesslog = "-"
errorlog = "-"
access_log_format = (
    json.dumps(
        {
            "time": "%(t)s",
            "remote": "%(h)s",
            "method": "%(m)s",
            "path": "%(U)s",
            "query": "%(q)s",
            "status": "%(s)s",
            "bytes": "%(B)s",
            "duration_ms": "%(M)s",
            "correlation_id": "%({x-correlation-id}o)s",
            "user_agent": "%(a)s",
        }
    )
    .replace('"%(s)s"', "%(s)s")
    .replace('"%(M)s"', "%(M)s")
)  # numbers, not strings


class JsonAtomsLogger(glogging.Logger):  # type: ignore[misc]
    """Gunicorn's logger with every access-log value escaped for a JSON string, so that
    ``access_log_format`` above renders one valid JSON object whatever a client sends.

    ``atoms`` is gunicorn's own (undocumented) hook that builds the values; the production topology
    test parses every access-log line as JSON, so a change to it fails CI.
    """

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {
            key: json.dumps(value)[1:-1] if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


logger_class = JsonAtomsLogger


def _logconfig() -> dict[str, Any]:
    """Gunicorn's own lines as the application's (JSON with LOG_FORMAT=json, the default); access
    lines as ``access_log_format`` renders them, on stdout."""
    config = logging_config()
    config["formatters"]["access"] = {"format": "%(message)s"}
    config["handlers"]["access"] = {
        "class": "logging.StreamHandler",
        "formatter": "access",
        "stream": "ext://sys.stdout",
    }
    config["loggers"] = {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    }
    return config


logconfig_dict = _logconfig()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges leave the multiprocess metrics (django-prometheus, when
    PROMETHEUS_MULTIPROC_DIR is set; its counters stay summed in)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
