"""``notifier-worker``: ``dramatiq notifications.worker``, the supervisor's own lines logged as every process's are.

Dramatiq's supervisor (the process that starts, restarts and stops the worker processes) logs in
Dramatiq's text format. This command configures logging from the Django settings first (JSON lines
unless ``LOG_FORMAT=plain``), then hands over to Dramatiq's command line with ``--skip-logging``;
the worker processes configure theirs when ``notifications.worker`` sets Django up. It is the one
place that leans on ``dramatiq.cli`` (not a documented API); ``tests/notifier/test_worker_command.py``
catches a change there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

#: The module Dramatiq imports in each worker process: the broker and the actor.
WORKER_MODULE = "notifications.worker"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notifier's worker processes; ``argv`` (default: the command line) is what ``dramatiq`` takes
    after its broker module: its options, and further modules to import."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifier_service.settings.dev")
    from django.conf import settings
    from django.utils.log import configure_logging
    from dramatiq import cli

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    options = list(sys.argv[1:] if argv is None else argv)
    return int(cli.main(cli.make_argument_parser().parse_args(["--skip-logging", WORKER_MODULE, *options])))


if __name__ == "__main__":
    sys.exit(main())
