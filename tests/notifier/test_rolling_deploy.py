"""Guarantee 7 with real Redis and worker processes: a rolling deploy in either order loses no notification.

Messages go straight onto the events queue, as a producer of another release would publish them.
"Next release" is a worker that also loads tests.notifier.next_release_worker (generation.completed v2).
"""

from __future__ import annotations

import pytest
import redis

from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage
from tests.notifier.conftest import enqueue, generation_payload
from tests.notifier.test_contract_evolution import TRACEPARENT, export_payload, message, v2_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "notifications.worker"
NEXT_RELEASE = ("tests.notifier.next_release_worker",)


def statuses() -> dict[str, str]:
    return {str(event_id): status for event_id, status in InboxEvent.objects.values_list("event_id", "status")}


def drained(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return client.llen("dramatiq:codegen-events") == 0 and not client.keys("dramatiq:__acks__*")
    finally:
        client.close()


def test_producer_first_then_the_notifier_every_message_ends_notified_parked_or_unknown(
    workers, notifier_redis, receiver
):
    # given the current notifier, and a producer one release ahead
    sent = {
        "notified: payload field added": message(payload=generation_payload(build_host="ci-7")),
        "notified: export payload field added": message(
            "export.failed", export_payload(retry_after=30), aggregate_type="repository_export"
        ),
        "ignored: a field added to a type without handler": message(
            "generation.running", generation_payload(build_host="x")
        ),
        "notified: envelope field added, traceparent passed on": message(
            payload=generation_payload(notification_email=None, webhook_url=receiver.url),
            traceparent=TRACEPARENT,
            priority="high",
        ),
        "parked: a newer version": message(payload=v2_payload(), schema_version=2),
        "unknown: a new type": message("generation.teleported"),
    }
    worker = workers.worker(WORKER)
    workers.notifier_deliverer()
    for data in sent.values():
        enqueue(notifier_redis, data, data["event_id"])
    # then each ends as it should, none poison
    wait_for(lambda: len(statuses()) == len(sent) and drained(notifier_redis), timeout=60, what="every message")
    expected = {data["event_id"]: case.split(":")[0] for case, data in sent.items()}
    assert statuses() == {k: v.replace("notified", "processed") for k, v in expected.items()}
    assert not PoisonMessage.objects.exists()
    assert redis.Redis.from_url(notifier_redis).hlen("dramatiq:codegen-events.XQ.msgs") == 0
    wait_for(lambda: receiver.requests, what="the webhook")
    assert receiver.requests[0]["headers"]["traceparent"] == TRACEPARENT
    assert Notification.objects.count() == 3
    # when the notifier is upgraded to the release that knows version 2
    workers.stop_all()
    assert "Worker process is ready" in workers.output(worker)
    parked = sent["parked: a newer version"]["event_id"]
    workers.worker(WORKER, also=NEXT_RELEASE, processes=2)
    # then its start-up takes the parked event in, once, though two processes resume at once
    wait_for(lambda: statuses()[parked] == "processed", timeout=60, what="the parked event taken in")
    assert Notification.objects.filter(event__event_id=parked).get().body.endswith("4096 bytes (v2).")
    assert Notification.objects.count() == 4
    assert Delivery.objects.filter(event__event_id=parked).count() == 1
    assert statuses()[sent["unknown: a new type"]["event_id"]] == "unknown"


def test_notifier_first_then_the_producer_older_and_newer_versions_are_notified_once(workers, notifier_redis):
    # given the next release of the notifier, and producers of the old and the new release
    behind = message()  # version 1
    current = message(payload=v2_payload(), schema_version=2)
    current_with_extra = message(payload={**v2_payload(), "build_host": "ci-7"}, schema_version=2, priority="low")
    workers.worker(WORKER, also=NEXT_RELEASE, processes=2, threads=4)
    for data in (behind, current, current_with_extra, behind, current):  # redeliveries too
        enqueue(notifier_redis, data, data["event_id"])
    wait_for(lambda: Notification.objects.count() == 3 and drained(notifier_redis), timeout=60, what="all three")
    assert set(statuses().values()) == {"processed"}
    assert InboxEvent.objects.get(event_id=behind["event_id"]).schema_version == 1
    assert all(n.body.endswith("4096 bytes (v2).") for n in Notification.objects.all())
    assert Notification.objects.count() == 3 and not PoisonMessage.objects.exists()
