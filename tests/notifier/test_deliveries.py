"""E-mail and signed webhooks: delivered once, retried on what may pass, failed on what will not."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from notifications import deliveries
from notifications.deliveries import delivery_attempt
from notifications.inbox import inbox_take
from notifications.models import Delivery
from tests.notifier.conftest import envelope, generation_payload

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def webhook_delivery(url: str):
    event = envelope(payload=generation_payload(notification_email=None, webhook_url=url))
    intake = inbox_take(event)
    [delivery_id] = intake.delivery_ids
    return event, delivery_id


def verify(request) -> dict:
    """Check the signature with the Standard Webhooks reference library (an independent implementation)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(SECRET).verify(request["body"], headers)


def test_webhook_is_signed_and_delivered(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_SECRET": SECRET}
    event, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "delivered" and delivery.attempts == 1
    [request] = receiver.requests
    assert request["path"] == "/hooks/codegen"
    payload = verify(request)
    assert payload["type"] == "generation.completed"
    assert payload["data"]["event_id"] == str(event.event_id)
    assert request["headers"]["webhook-id"] == str(event.event_id)


def test_500_then_200_is_retried_and_delivered_once(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_SECRET": SECRET}
    receiver.script = [500, 200]
    event, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert len(receiver.requests) == 2
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {str(event.event_id)}
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    for request in receiver.requests:
        verify(request)
    again = delivery_attempt(delivery_id)  # already delivered: nothing sent
    assert again.attempts == 2 and len(receiver.requests) == 2


@pytest.mark.parametrize("status", [410, 400, 404, 301])
def test_other_4xx_and_redirects_fail_without_retry(receiver, fast_sends, status):
    receiver.default = status
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert f"HTTP {status}" in delivery.last_error
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_retryable_statuses_are_retried_up_to_the_limit(receiver, fast_sends, status):
    receiver.default = status
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_a_receiver_that_never_answers_times_out_and_is_retried(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_TIMEOUT": 0.3}
    receiver.default = "hang"
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert "Timeout" in delivery.last_error
    assert len(receiver.requests) == 3


def test_unsafe_target_fails_without_a_connection(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_ALLOW_LOOPBACK": False}
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and "loopback" in delivery.last_error
    assert receiver.requests == []


def test_an_unusable_webhook_secret_fails_the_delivery_with_the_reason(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_SECRET": "whsec_too-short"}
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.last_error.startswith("WEBHOOK_SECRET: ")
    assert delivery.claimed_until is None and receiver.requests == []


def test_a_defect_while_sending_fails_the_delivery_with_the_reason_and_releases_it(receiver, fast_sends, monkeypatch):
    def broken(delivery):
        raise RuntimeError("a bug in the sender")

    monkeypatch.setitem(deliveries._SENDERS, "webhook", broken)
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = delivery_attempt(delivery_id)
    assert (delivery.status, delivery.last_error, delivery.claimed_until) == (
        "failed", "RuntimeError: a bug in the sender", None,
    )  # fmt: skip


def test_email_goes_to_the_projects_address_with_the_event_id(smtp_sink, fast_sends):
    event = envelope()
    [delivery_id] = inbox_take(event).delivery_ids
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "delivered"
    [message] = smtp_sink.messages
    assert message["To"] == "team@example.com"
    assert message["Subject"] == "Generation completed for shop"
    assert message["X-Event-ID"] == str(event.event_id)


@pytest.mark.parametrize("address", ["ops@localhost", "ops@[10.0.0.1]", "ops@127.0.0.1"])
def test_email_to_an_address_the_projects_api_now_refuses_fails_unsent_with_the_reason(smtp_sink, fast_sends, address):
    [delivery_id] = inbox_take(envelope(payload=generation_payload(notification_email=address))).delivery_ids
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.last_error.startswith("refused: ")
    assert smtp_sink.messages == []


def test_email_to_a_dead_smtp_server_is_retried_then_failed(fast_sends, settings):
    from devinfra.ports import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    [delivery_id] = inbox_take(envelope()).delivery_ids
    delivery = delivery_attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 3


def test_webhook_body_is_the_event(receiver, fast_sends):
    event, delivery_id = webhook_delivery(receiver.url)
    body = json.loads(Delivery.objects.get(pk=delivery_id).body)
    assert body["data"]["total_files"] == 3 and body["type"] == event.event_type


def test_a_webhook_to_an_ipv6_literal_sends_a_bracketed_host_header(receiver, fast_sends):
    url = receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
    _, delivery_id = webhook_delivery(url)
    assert delivery_attempt(delivery_id).status == "delivered"
    port = url.split("]:")[1].split("/")[0]
    assert receiver.requests[0]["headers"]["Host"] == f"[::ffff:127.0.0.1]:{port}"
