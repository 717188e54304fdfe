"""``notifier-worker`` (notifications.worker_command): the worker under Dramatiq's supervisor, every line JSON.

It leans on ``dramatiq.cli`` (its argument parser and ``main``): a Dramatiq release that changes them
fails here.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from codegen_contracts import envelope_to_builtins
from notifications.models import Notification
from tests.notifier.conftest import enqueue, envelope
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_command_takes_events_in_and_every_line_it_writes_is_json(workers, notifier_redis):
    # given the command as production runs it, logging JSON
    process = workers.notifier_worker(threads=2, LOG_FORMAT="json", LOG_LEVEL="INFO")
    # when an event is sent, it is taken in by the worker process it started
    event = envelope()
    enqueue(notifier_redis, envelope_to_builtins(event), str(event.event_id))
    wait_for(lambda: Notification.objects.filter(event__event_id=event.event_id).exists(), what="the notification")
    # and when it is stopped, it stops cleanly
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    # then every line, the supervisor's included, is one JSON object
    lines = [json.loads(text) for text in Path(process.log_path).read_text().splitlines()]
    supervisor = [line["message"] for line in lines if line["logger"] == "dramatiq.MainProcess"]
    assert any("is booting up" in message for message in supervisor), supervisor
    assert any("Sending signal" in message for message in supervisor), supervisor
    assert any(line["message"] == "Worker process is ready for action." for line in lines)
