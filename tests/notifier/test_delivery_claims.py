"""Claiming due deliveries: an endpoint's room, the breaker, disabling a failing endpoint, lost claims.

Guarantee 10: a slow, failing or dead endpoint holds only its own share of the senders.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.utils import timezone
from psycopg.pq import TransactionStatus

from notifications.delivery import claim_statement, claims
from notifications.delivery.claims import LOST_ATTEMPT
from notifications.delivery.claims import deliveries_claim as claimed
from notifications.delivery.endpoints import endpoints_attempts_record
from notifications.delivery.runner import deliveries_send_due
from notifications.intake.inbox import inbox_take, inbox_take_many
from notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from tests.notifier.conftest import envelope, generation_payload, notifier_database_url

pytestmark = pytest.mark.django_db

#: The claim on PostgreSQL, as the module has it (the fixture below swaps it for the ORM's).
STATEMENT = claims._claim_statement


@pytest.fixture(autouse=True, params=["statement", "orm"])
def claim_path(request, monkeypatch):
    """Every test runs on both ways of claiming: the PostgreSQL statement and the ORM (SQLite's)."""
    if request.param == "orm":
        monkeypatch.setattr(claims, "_claim_statement", claims._claim_orm)
    return request.param


def webhooks(url: str, count: int, *, project_id: int = 4) -> list[int]:
    ids = []
    for _ in range(count):
        payload = generation_payload(project_id=project_id, notification_email=None, webhook_url=url)
        ids += inbox_take(envelope(payload=payload)).delivery_ids
    return ids


def deliveries_claim(*, limit: int, sent: list[int] | tuple[int, ...] = ()) -> list[int]:
    return [delivery.pk for delivery in claimed(limit=limit, sent=sent)]


def endpoint(url: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get(url=url)


def test_no_endpoint_gets_more_than_its_room_and_the_others_go_on(settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "ENDPOINT_CONCURRENCY": 2}
    slow = webhooks("http://127.0.0.1:1/slow", 10)
    healthy = webhooks("http://127.0.0.1:2/healthy", 3, project_id=5)
    first = deliveries_claim(limit=16)
    assert sorted(first) == sorted(slow[:2] + healthy[:2])  # two each, the earliest due first
    assert deliveries_claim(limit=16) == []  # both full while their sends are in flight
    Delivery.objects.filter(pk__in=healthy[:2]).update(status="delivered", claimed_until=None)
    assert deliveries_claim(limit=16) == [healthy[2]]  # the healthy endpoint's room came back; the slow one's did not


def test_a_claim_says_what_lacked_room_so_that_only_a_send_freeing_it_wakes_the_worker(settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "ENDPOINT_CONCURRENCY": 2}
    slow = webhooks("http://127.0.0.1:1/slow", 4)
    healthy = webhooks("http://127.0.0.1:2/healthy", 1, project_id=5)
    left: set[int | None] = set()
    assert sorted(d.pk for d in claimed(limit=16, left=left)) == sorted(slow[:2] + healthy)
    assert left == {endpoint("http://127.0.0.1:1/slow").pk}  # two of its deliveries did not fit
    left = set()
    assert claimed(limit=16, left=left) == [] and left == {endpoint("http://127.0.0.1:1/slow").pk}  # full
    more = webhooks("http://127.0.0.1:3/more", 2, project_id=6)
    left = set()
    assert [d.pk for d in claimed(limit=1, left=left)] == more[:1]
    assert None in left  # the limit was reached: a sender that frees may take the rest


def test_a_send_that_ended_frees_its_endpoints_room_before_its_attempt_is_on_record(settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "ENDPOINT_CONCURRENCY": 2}
    ids = webhooks("http://127.0.0.1:1/fast", 5)
    first = deliveries_claim(limit=16)
    assert first == ids[:2]
    assert deliveries_claim(limit=16, sent=[ids[0]]) == [ids[2]]  # one send ended: one more may start
    assert deliveries_claim(limit=16, sent=[ids[0]]) == []  # ids[1] and ids[2] in flight
    assert deliveries_claim(limit=16, sent=first) == [ids[3]]  # still held, never claimed twice


def test_a_claim_that_ran_out_is_claimed_again_and_its_lost_attempt_put_on_record():
    [delivery_id] = webhooks("http://127.0.0.1:1/x", 1)
    assert deliveries_claim(limit=1) == [delivery_id]
    assert deliveries_claim(limit=1) == []  # held by its claim
    Delivery.objects.filter(pk=delivery_id).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert deliveries_claim(limit=1) == [delivery_id]
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 2
    [lost] = DeliveryAttempt.objects.filter(delivery_id=delivery_id)
    assert (lost.number, lost.error) == (1, LOST_ATTEMPT)


def test_the_breaker_opens_after_failures_in_a_row_and_probes_one_at_a_time_on_schedule(receiver, settings):
    settings.NOTIFIER = {
        **settings.NOTIFIER, "BREAKER_FAILURES": 2, "ENDPOINT_CONCURRENCY": 4, "RETRY_SCHEDULE": (60.0,) * 5,
    }  # fmt: skip
    receiver.default = 503
    ids = webhooks(receiver.url, 5)
    Delivery.objects.filter(pk__in=ids[2:]).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    deliveries_send_due()  # two fail in a row: the breaker opens
    hook = endpoint(receiver.url)
    assert hook.consecutive_failures == 2 and hook.last_failure_at is not None
    # the two that failed are due again, but since before the last failure: kept due, skipped, no connection
    Delivery.objects.filter(pk__in=ids[:2]).update(next_attempt_at=hook.last_failure_at - timedelta(seconds=1))
    assert deliveries_claim(limit=8) == []
    assert len(receiver.requests) == 2 and all(d.status == "pending" for d in Delivery.objects.filter(pk__in=ids))
    # two come due at their scheduled time after it: one probe at a time, no more
    Delivery.objects.filter(pk__in=ids[2:4]).update(next_attempt_at=timezone.now())
    probe = deliveries_claim(limit=8)
    assert probe == [ids[2]] and deliveries_claim(limit=8) == []
    Delivery.objects.filter(pk__in=probe).update(claimed_until=None, attempts=0)
    receiver.default = 200
    deliveries_send_due(limit=1)  # the probe succeeds: the breaker closes
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0 and Delivery.objects.get(pk=ids[2]).status == "delivered"
    assert sorted(deliveries_claim(limit=8)) == sorted([ids[0], ids[1], ids[3]])  # the kept ones flow again


def test_an_endpoint_failing_longer_than_disable_after_is_disabled(receiver, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "DISABLE_AFTER": 3600.0, "RETRY_SCHEDULE": (1.0,) * 5}
    receiver.default = 500
    [first, second] = webhooks(receiver.url, 2)
    Delivery.objects.filter(pk=second).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    deliveries_send_due()
    assert endpoint(receiver.url).state == "enabled"
    WebhookEndpoint.objects.filter(url=receiver.url).update(failing_since=timezone.now() - timedelta(hours=2))
    Delivery.objects.filter(pk=first).update(next_attempt_at=timezone.now())
    deliveries_send_due()
    hook = endpoint(receiver.url)
    assert hook.state == "disabled" and hook.state_reason.startswith("failing without a success since ")
    assert Delivery.objects.get(pk=second).last_error.startswith("endpoint disabled: failing without a success")


def test_a_success_clears_the_failures():
    [delivery_id] = webhooks("http://127.0.0.1:1/x", 1)
    WebhookEndpoint.objects.update(consecutive_failures=3, failing_since=timezone.now())
    hook = endpoint("http://127.0.0.1:1/x")
    assert endpoints_attempts_record({hook.pk: 1}, {hook.pk: 2}, gone=set()) == {}  # a success in the batch wins
    hook = endpoint("http://127.0.0.1:1/x")
    assert (hook.consecutive_failures, hook.failing_since) == (0, None) and hook.last_success_at is not None
    assert Delivery.objects.get(pk=delivery_id).endpoint_id == hook.pk


def test_one_project_url_is_one_endpoint_and_another_projects_is_another():
    webhooks("http://127.0.0.1:1/shared", 2, project_id=4)
    webhooks("http://127.0.0.1:1/shared", 1, project_id=5)
    assert sorted(WebhookEndpoint.objects.values_list("project_id", flat=True)) == [4, 5]


@pytest.mark.django_db(transaction=True)
def test_a_claim_outside_a_transaction_commits_in_its_own_and_a_failed_one_leaves_the_connection_idle(
    claim_path, monkeypatch
):
    ids = webhooks("http://127.0.0.1:1/own", 2)
    assert deliveries_claim(limit=1) == ids[:1]
    assert not connection.in_atomic_block
    with psycopg.connect(notifier_database_url()) as other:  # committed: another session sees it
        (held,) = other.execute("SELECT count(*) FROM notifier_delivery WHERE claimed_until IS NOT NULL").fetchone()
    assert held == 1
    monkeypatch.setattr(claim_statement, "CLAIM", "SELECT no_such_column FROM notifier_delivery")
    monkeypatch.setattr(claims, "_claim_statement", STATEMENT)  # the statement, on either path
    with pytest.raises(DatabaseError):
        deliveries_claim(limit=1)
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert Delivery.objects.filter(claimed_until__isnull=True).count() == 1  # the connection goes on


def test_the_claim_statement_finds_its_rows_by_index_in_large_tables():
    """The claim runs several times a second: a plan that scans the deliveries, the inbox or the endpoints would
    make it slower with every row stored (the planner keeps one plan per connection)."""
    for start in range(0, 3000, 500):
        inbox_take_many(
            [envelope(payload=generation_payload(project_id=10 + n, notification_email=None,
                                                 webhook_url=f"http://127.0.0.1:1/{n}"))
             for n in range(start, start + 500)]
        )  # fmt: skip
    Delivery.objects.filter(pk__in=Delivery.objects.order_by("id").values("pk")[:2900]).update(status="delivered")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        now = timezone.now()
        params = {"now": now, "lease": now + timedelta(minutes=1), "limit": 16, "candidates": 64, "sent": [],
                  "breaker": 5, "concurrency": 16, "lost": LOST_ATTEMPT}  # fmt: skip
        cursor.execute("EXPLAIN " + claim_statement.CLAIM, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for table in ("notifier_delivery", "notifier_inbox", "notifier_webhook_endpoint"):
        assert f"Seq Scan on {table}" not in plan, plan
