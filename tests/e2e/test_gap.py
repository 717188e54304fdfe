"""Guarantee 8 across the whole system: an event lost between the relay and the notifier is reported as a
gap, and an operator's replay from the projects service closes it with exactly one notification."""

from __future__ import annotations

import json
import sys
from io import StringIO

import pytest
import redis
from django.core.management import call_command

from outbox.models import OutboxEvent
from tests.e2e.conftest import notifier_rows, notifier_worker_env
from tests.fakes import SmtpSink
from tests.projects.conftest import client_for
from tests.projects.factories import UserFactory
from tests.support import NOTIFIER_MANAGE, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUE = "dramatiq:codegen-events"


def message_remove(redis_url: str, event_id: str) -> None:
    """Delete the queued message of ``event_id`` from Redis, as a failover that forgot it would."""
    client = redis.Redis.from_url(redis_url)
    for redis_id, body in client.hgetall(f"{QUEUE}.msgs").items():
        if json.loads(body)["message_id"] == event_id:
            client.lrem(QUEUE, 0, redis_id)
            client.hdel(f"{QUEUE}.msgs", redis_id)
            return
    raise AssertionError(f"no queued message for {event_id}")


def test_a_lost_event_is_reported_and_a_replay_by_aggregate_closes_the_gap_once(processes, redis_url, notifier_db):
    sink = SmtpSink()
    try:
        # given three events of one generated project published, and the first lost from Redis
        processes.relay()
        api = client_for(UserFactory())
        project = api.post("/api/v1/projects/", {"name": "shop", "notification_email": "t@example.com"}, format="json")
        gp = api.post("/api/v1/generated-projects/", {"project": project.json()["id"]}, format="json").json()["id"]
        for status in ["generating", "completed"]:
            api.patch(f"/api/v1/generated-projects/{gp}/", {"status": status}, format="json")
        wait_for(lambda: OutboxEvent.objects.filter(state="published").count() == 3, what="three published")
        client = redis.Redis.from_url(redis_url)
        wait_for(lambda: client.hlen(f"{QUEUE}.msgs") == 3, what="three queued")
        lost = OutboxEvent.objects.get(aggregate_id=str(gp), sequence=1)
        message_remove(redis_url, str(lost.event_id))
        env = {
            **notifier_worker_env(notifier_db, sink.port),
            "NOTIFIER_ORDER_WAIT": "1",
            "NOTIFIER_GAP_ALERT_AFTER": "0",
        }
        processes.worker("notifications.worker", **env)
        processes.notifier_deliverer(**env)
        # then the later events take effect after their wait, and the gap is reported
        wait_for(lambda: len(notifier_rows(notifier_db, "SELECT id FROM notifier_notification")) == 1,
                 timeout=60, what="generation.completed after its wait")  # fmt: skip
        gaps = processes.run([sys.executable, str(NOTIFIER_MANAGE), "inbox", "gaps", "--json"], **env)
        assert gaps.returncode == 1, gaps.stderr
        reported = json.loads(gaps.stdout)
        assert (reported["aggregate"], reported["missing"]) == (f"generated_project:{gp}", [1])
        # when the operator replays the aggregate from the projects service
        out = StringIO()
        call_command("outbox", "replay", "--aggregate", f"generated_project:{gp}", "--reason", "lost in Redis",
                     stdout=out)  # fmt: skip
        # then the lost event takes effect once, marked late, the gap closes, and nothing else repeats
        wait_for(lambda: len(notifier_rows(notifier_db, "SELECT id FROM notifier_notification")) == 2,
                 timeout=60, what="generation.started from the replay")  # fmt: skip
        wait_for(lambda: processes.run([sys.executable, str(NOTIFIER_MANAGE), "inbox", "gaps"], **env).returncode == 0,
                 what="the gap closed")  # fmt: skip
        wait_for(lambda: client.llen(QUEUE) == 0, what="the replayed messages consumed")
        rows = notifier_rows(notifier_db, "SELECT n.event_type, i.late FROM notifier_notification n "
                                          "JOIN notifier_inbox i ON i.id = n.event_id ORDER BY n.id")  # fmt: skip
        assert rows == [("generation.completed", False), ("generation.started", True)]
        wait_for(lambda: len(sink.messages) == 2, what="two e-mails")
        assert sorted(m["Subject"] for m in sink.messages) == ["Generation completed for shop",
                                                               "[late] Generation started for shop"]  # fmt: skip
    finally:
        sink.close()
