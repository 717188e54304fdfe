"""The upgrades of the deliveries: to delivery workers (migration 0007), a delivery pending before it is sent after
it, on the new schedule, to an endpoint made for it (0009: intake writes deliveries with their endpoint, and the
pending ones written before get theirs); nothing the customer does is needed."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from notifications.delivery.runner import deliveries_send_due
from notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from tests.notifier.conftest import generation_payload


@pytest.mark.django_db(transaction=True)
def test_a_delivery_pending_before_the_upgrade_is_sent_after_it(receiver, fast_sends):
    call_command("migrate", "notifications", "0006", verbosity=0)
    try:
        event_id = uuid.uuid4()
        raw = {"event_id": str(event_id), "payload": generation_payload(webhook_url=receiver.url)}
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO notifier_inbox (event_id, event_type, schema_version, aggregate_type, aggregate_id, "
                "sequence, occurred_at, received_at, status, reason, raw, late) VALUES (%s, 'generation.completed', "
                "1, 'generated_project', '12', 1, now(), now(), 'processed', '', %s, false) RETURNING id",
                [event_id, json.dumps(raw)],
            )
            (inbox_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, "
                "last_error, created_at, updated_at) "
                "VALUES (%s, 'webhook', %s, 's', '{}', 'pending', 1, 'HTTP 500', now(), now())",
                [inbox_id, receiver.url],
            )
    finally:
        call_command("migrate", "notifications", verbosity=0)
    deliveries_send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered" and delivery.endpoint == WebhookEndpoint.objects.get(project_id=4)
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [str(event_id)]
    assert DeliveryAttempt.objects.get().status_code == 200


@pytest.mark.django_db(transaction=True)
def test_pending_webhooks_written_before_intake_set_endpoints_get_theirs():
    call_command("migrate", "notifications", "0008", verbosity=0)
    try:
        gone = WebhookEndpoint.objects.create(project_id=5, url="http://127.0.0.1:9/gone", state="disabled",
                                              state_reason="the receiver answered 410 Gone")  # fmt: skip
        ids = {}
        for project_id, url in ((4, "http://127.0.0.1:9/new"), (5, gone.url)):
            payload = generation_payload(project_id=project_id, webhook_url=url)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO notifier_inbox (event_id, event_type, schema_version, aggregate_type, aggregate_id, "
                    "sequence, occurred_at, received_at, status, reason, raw, late) VALUES (%s, "
                    "'generation.completed', 1, 'generated_project', %s, 1, now(), now(), 'processed', '', %s, false) "
                    "RETURNING id",
                    [uuid.uuid4(), str(project_id), json.dumps({"payload": payload})],
                )
                (inbox_id,) = cursor.fetchone()
                cursor.execute(
                    "INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, "
                    "attempts_made, last_error, next_attempt_at, created_at, updated_at) VALUES "
                    "(%s, 'webhook', %s, 's', '{}', 'pending', 0, 0, '', now(), now(), now()) RETURNING id",
                    [inbox_id, url],
                )
                ids[url] = cursor.fetchone()[0]
    finally:
        call_command("migrate", "notifications", verbosity=0)
    new = Delivery.objects.get(pk=ids["http://127.0.0.1:9/new"])
    assert new.status == "pending" and new.endpoint == WebhookEndpoint.objects.get(project_id=4)
    assert new.endpoint.owner_id == 9  # whom to tell, from the event
    ended = Delivery.objects.get(pk=ids[gone.url])
    assert ended.endpoint == gone and ended.status == "failed"
    assert ended.last_error == "endpoint disabled: the receiver answered 410 Gone"
