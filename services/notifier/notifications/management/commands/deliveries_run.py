"""The delivery worker: sends due e-mails and webhooks until SIGTERM or SIGINT (run one or several)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from codegen_config.stopping import stop_on_signals
from codegen_telemetry import tracing_configure
from notifications.delivery.runner import DeliveryRunner

logger = logging.getLogger("notifications.delivery")


class Command(BaseCommand):
    help = (
        "Send due deliveries (e-mail, webhooks) on their retry schedule, apart from intake; several may run "
        "side by side on PostgreSQL. Stops after the attempts in flight on SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, help="sends at once (default NOTIFIER_DELIVERY_THREADS)")
        parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics on this port")
        parser.add_argument("--metrics-addr", default="127.0.0.1", help="the metrics' address (default 127.0.0.1)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["threads"] is not None and options["threads"] < 1:
            self.stderr.write("--threads: at least 1")
            raise SystemExit(2)
        tracing_configure("notifier-deliveries")
        if options["metrics_port"]:
            from prometheus_client import start_http_server

            start_http_server(options["metrics_port"], addr=options["metrics_addr"])
        runner = DeliveryRunner(threads=options["threads"])

        def stop() -> None:
            runner.stop.set()
            runner.wake.set()

        stop_on_signals(stop)
        logger.info("delivery worker: %d senders", runner.threads)
        runner.run()
