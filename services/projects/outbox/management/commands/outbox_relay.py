from __future__ import annotations

import fcntl
import json
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from codegen_config.commands import PartlyFailed, plural
from codegen_config.stopping import stop_on_signals
from codegen_telemetry import tracing_configure
from outbox.config import OutboxConfig
from outbox.publisher import DramatiqRedisPublisher
from outbox.relay import Relay
from outbox.wakeup import WakeupListener

logger = logging.getLogger("outbox.relay")


def sqlite_single_relay_lock(using: str) -> Any:
    """Take the one-relay lock of a SQLite database, or raise CommandError saying why not."""
    name = Path(str(connections[using].settings_dict["NAME"]))
    handle = open(f"{name}.relay.lock", "w")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CommandError(
            f"another outbox relay is already running against {name}: SQLite has no SELECT ... SKIP LOCKED, "
            "so exactly one relay may run on it (use PostgreSQL to run several)"
        ) from None
    return handle


class Command(BaseCommand):
    help = "Publish outbox rows to Dramatiq over Redis until stopped (SIGTERM/SIGINT finish the batch in hand)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, help="rows per batch (OUTBOX_BATCH_SIZE)")
        parser.add_argument("--poll-interval", type=float, help="seconds between polls without wake-ups")
        parser.add_argument("--wakeup", choices=["notify", "redis", "none"], help="wake-up mechanism (OUTBOX_WAKEUP)")
        parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here (0: off)")
        parser.add_argument("--once", action="store_true", help="publish what is due now, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        tracing_configure("outbox-relay")  # on with OTEL_TRACES_EXPORTER: a span per event published
        config = OutboxConfig.from_settings(
            batch_size=options["batch_size"],
            poll_interval=options["poll_interval"],
            wakeup=options["wakeup"],
            metrics_port=options["metrics_port"],
        )
        using = "default"
        lock = sqlite_single_relay_lock(using) if connections[using].vendor == "sqlite" else None
        publisher = DramatiqRedisPublisher(
            config.redis, namespace=config.namespace, timeout=config.publish_timeout,
            min_replicas=config.min_replicas, replica_timeout=config.replica_timeout,
        )  # fmt: skip
        relay = Relay(config, publisher, using=using)
        if not publisher.wait_until_reachable(timeout=15.0):
            logger.warning("outbox.redis_unreachable", extra={"redis": config.redis.describe()})
        for warning in publisher.durability_warnings():
            logger.warning("outbox.redis_durability", extra={"warning": warning})
        if config.metrics_port:
            relay.metrics.serve(config.metrics_port, config.metrics_addr)

        stop_on_signals(relay.stop)
        try:
            if options["once"]:
                drained = relay.drain()
                failed = drained.retried + drained.dead
                self.stdout.write(json.dumps({
                    "event": "outbox.drained", "published": drained.published, "failed": failed,
                    "retried": drained.retried, "dead": drained.dead,
                }))  # fmt: skip
                if failed:
                    message = f"{plural(failed, 'row')} not published ({drained.retried} to retry, {drained.dead} dead)"
                    raise (PartlyFailed(message) if drained.published else CommandError(message))
                return
            listener = WakeupListener(relay.wakeup, relay.wake_event, redis=config.redis, using=using)
            listener.start()
            try:
                relay.run()
            finally:
                listener.stop()
        finally:
            publisher.close()
            if lock is not None:
                lock.close()
