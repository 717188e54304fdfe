"""The notifier's Dramatiq worker: `notifier-worker` (``worker_command``), or `dramatiq notifications.worker`.

The actor reads the envelope tolerantly (``codegen_contracts.envelope_read``), takes the event into
the inbox (once per event id; the process's threads share one group-committing writer), then
attempts its deliveries; an event of a newer version is parked, one of an unknown type recorded.
At start-up each process takes in the held events this release knows. A message that breaks the contract is
recorded and dead-lettered at once; one that keeps failing is retried by Dramatiq with backoff,
its attempts recorded, and dead-lettered once ``should_retry`` says no more (MESSAGE_MAX_RETRIES).
"""

from __future__ import annotations

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifier_service.settings.dev")
from notifications.worker_metrics import WorkerMetrics, metrics_port  # Django-free, needed before Django

if metrics_port() and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client picks its multiprocess mode when first imported: the variable must come with the process
    raise SystemExit("NOTIFIER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (a directory the worker processes share)")
django.setup()
from codegen_telemetry import tracing_configure  # noqa: E402

tracing_configure("notifier-worker")  # in each Dramatiq process: on with OTEL_TRACES_EXPORTER

import dramatiq  # noqa: E402
from django.conf import settings  # noqa: E402

from codegen_contracts import EVENTS_ACTOR, EVENTS_QUEUE  # noqa: E402
from notifications.broker import MsgspecJSONEncoder, notifier_broker  # noqa: E402
from notifications.config import notifier_config  # noqa: E402
from notifications.errors import PoisonEnvelope  # noqa: E402
from notifications.intake.boot import OrderSweeper, ResumeHeldAtBoot  # noqa: E402
from notifications.intake.consume import event_consume, should_retry  # noqa: E402
from notifications.intake.group_commit import IntakeWriter  # noqa: E402

broker = notifier_broker(settings.REDIS, notifier_config())
broker.add_middleware(ResumeHeldAtBoot())
broker.add_middleware(OrderSweeper())  # with ordering off too: events left waiting still take effect
broker.add_middleware(WorkerMetrics())
dramatiq.set_broker(broker)
dramatiq.set_encoder(MsgspecJSONEncoder())
intake_writer = IntakeWriter(max_batch=notifier_config().intake_batch_max)
# What start-up loaded lives as long as the process: out of the collector's sight, a full
# collection no longer walks it (about 17 ms each time here), which stalled messages now and then.
gc.collect()
gc.freeze()


@dramatiq.actor(
    actor_name=EVENTS_ACTOR,
    queue_name=EVENTS_QUEUE,
    min_backoff=notifier_config().message_min_backoff_ms,
    retry_when=should_retry,
    throws=(PoisonEnvelope,),  # handled and recorded: one line, no traceback, dead-lettered at once
)
def codegen_event(envelope: object) -> None:
    event_consume(envelope, message=dramatiq.middleware.CurrentMessage.get_current_message(), take=intake_writer.take)
