"""Deliveries, one attempt at a time: signed, on record, retried on the schedule, final on what will not pass.

Guarantee 10: a receiver's trouble is its own; every attempt is on record.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from codegen_config.signing import DEV_MASTER_KEY
from codegen_contracts import envelope_to_builtins
from codegen_contracts.signing import project_signing_key, secret_text
from notifications.delivery import channels
from notifications.delivery.channels import ChannelSpec
from notifications.delivery.connections import (
    IDLE_KEPT,
    POOL_FULL,
    POOL_FULL_LEFT_OUT,
    receiver_pool,
    receiver_pools_close,
)
from notifications.delivery.outcomes import SendResult, Verdict
from notifications.delivery.runner import deliveries_send_due
from notifications.delivery.ssrf import Target
from notifications.intake.consume import event_consume
from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryAttempt, Notification, WebhookEndpoint
from tests.fakes import WebhookReceiver
from tests.notifier.conftest import envelope, generation_payload

pytestmark = pytest.mark.django_db

#: The secret of project 4 (tests.notifier.conftest's payloads) under the test settings' master key.
SECRET = secret_text(project_signing_key(DEV_MASTER_KEY.encode(), project_id=4, version=1))


def webhook_delivery(url: str, **payload: object) -> tuple[object, int]:
    event = envelope(payload=generation_payload(**{"notification_email": None, "webhook_url": url, **payload}))
    ids = inbox_take(event).delivery_ids
    [delivery_id] = Delivery.objects.filter(pk__in=ids, channel="webhook").values_list("pk", flat=True)
    return event, delivery_id


def attempt(delivery_id: int) -> Delivery:
    """Send what is due now (the delivery made due first), as a delivery worker would; the delivery after."""
    Delivery.objects.filter(pk=delivery_id, status="pending").update(next_attempt_at=timezone.now())
    deliveries_send_due()
    return Delivery.objects.get(pk=delivery_id)


def attempts(delivery_id: int) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(delivery_id=delivery_id).order_by("number"))


def verify(request: dict) -> dict:
    """Check the signature with the Standard Webhooks reference library (an independent implementation)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(SECRET).verify(request["body"], headers)


def test_webhook_is_signed_delivered_and_on_record(receiver, fast_sends):
    receiver.default = {"status": 204, "body": b""}
    event, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.claimed_until is None
    [request] = receiver.requests
    assert request["path"] == "/hooks/codegen"
    payload = verify(request)
    assert payload["type"] == "generation.completed" and payload["data"]["event_id"] == str(event.event_id)
    assert request["headers"]["webhook-id"] == str(event.event_id)
    [record] = attempts(delivery_id)
    assert (record.number, record.status_code, record.error, record.next_attempt_at) == (1, 204, "", None)
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.project_id, endpoint.url, endpoint.state) == (4, receiver.url, "enabled")
    assert Delivery.objects.get(pk=delivery_id).endpoint == endpoint  # written with it by intake
    assert endpoint.last_success_at is not None


def test_intake_contacts_no_receiver(transactional_db, receiver, fast_sends):
    """Taking an event in commits its delivery and returns: a hanging receiver is not even called."""
    receiver.default = "hang"
    data = envelope(payload=generation_payload(notification_email=None, webhook_url=receiver.url))
    intake = event_consume(envelope_to_builtins(data))
    assert intake.status == "processed" and receiver.requests == []
    assert Delivery.objects.get().status == "pending"


def test_a_500_is_retried_on_the_schedule_with_the_same_id_and_body(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "RETRY_SCHEDULE": (300.0, 600.0)}
    receiver.script = [{"status": 500, "body": b"oops"}, 200]
    event, delivery_id = webhook_delivery(receiver.url)
    before = timezone.now()
    delivery = attempt(delivery_id)
    assert delivery.status == "pending" and delivery.last_error == "HTTP 500"
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 270 <= wait <= 331  # 300 s ± 10% jitter
    [first] = attempts(delivery_id)
    assert (first.status_code, first.response_body, first.next_attempt_at) == (500, "oops", delivery.next_attempt_at)
    assert deliveries_send_due() == 0  # not due yet: nothing sent
    delivery = attempt(delivery_id)
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {str(event.event_id)}
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    for request in receiver.requests:
        verify(request)


def test_a_delivery_fails_when_its_schedule_is_spent(receiver, fast_sends):
    receiver.default = 503
    _, delivery_id = webhook_delivery(receiver.url)
    for _ in range(3):
        delivery = attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.last_error == "HTTP 503 (gave up after 3 attempts)"
    assert [a.next_attempt_at is None for a in attempts(delivery_id)] == [False, False, True]
    assert attempt(delivery_id).attempts == 3 and len(receiver.requests) == 3  # failed: left alone


@pytest.mark.parametrize("status", [400, 401, 404, 408, 429, 500])
def test_other_answers_are_retried(receiver, fast_sends, status):
    receiver.default = status
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "pending" and delivery.last_error == f"HTTP {status}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_ends_the_delivery(receiver, fast_sends, status):
    receiver.default = {"status": status, "headers": {"Location": "http://127.0.0.1:1/elsewhere"}}
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "failed" and delivery.last_error.startswith(f"HTTP {status}: redirects are not followed")
    assert len(receiver.requests) == 1


def test_410_gone_disables_the_endpoint_ends_its_deliveries_and_tells_the_owner(receiver, fast_sends):
    receiver.default = 410
    _, first = webhook_delivery(receiver.url, notification_email="before@example.com")
    _, second = webhook_delivery(receiver.url, notification_email="owner@example.com")  # the latest address
    Delivery.objects.filter(pk=second).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    delivery = attempt(first)
    assert delivery.status == "failed" and delivery.last_error == "HTTP 410: the receiver is gone"
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.state == "disabled" and "410" in endpoint.state_reason
    later = Delivery.objects.get(pk=second)
    assert later.status == "failed" and later.last_error.startswith("endpoint disabled: ")
    notice = Notification.objects.get(event_type="webhook_endpoint.disabled")
    assert notice.recipient == "user:9" and notice.project_id == 4 and receiver.url in notice.subject
    email = Delivery.objects.get(channel="email", event__event_type="webhook_endpoint.disabled")
    assert email.target == "owner@example.com" and receiver.url in email.subject
    # a new event's webhook to the disabled endpoint is written ended, with the reason, and never sent
    _, third = webhook_delivery(receiver.url)
    ended = Delivery.objects.get(pk=third)
    assert ended.status == "failed" and ended.last_error == "endpoint disabled: " + endpoint.state_reason
    deliveries_send_due()
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("120", 119, 121), ("99999999", 3599, 3601), ("soon", 4.5, 5.6), ("Wed, 21 Oct 2015 07:28:00 GMT", -1, 1)],
)
def test_retry_after_is_honoured_capped_and_a_malformed_one_ignored(receiver, fast_sends, settings, header, low, high):
    settings.NOTIFIER = {**settings.NOTIFIER, "RETRY_SCHEDULE": (5.0,), "RETRY_AFTER_MAX": 3600.0}
    receiver.default = {"status": 429, "headers": {"Retry-After": header}}
    _, delivery_id = webhook_delivery(receiver.url)
    before = timezone.now()
    delivery = attempt(delivery_id)
    assert delivery.status == "pending"
    assert low <= (delivery.next_attempt_at - before).total_seconds() <= high


def test_a_receiver_that_never_answers_times_out_and_is_retried(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_TIMEOUT": 0.3}
    receiver.default = "hang"
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "pending" and "Timeout" in delivery.last_error
    [record] = attempts(delivery_id)
    assert record.status_code is None and 250 <= record.duration_ms < 3000


def test_a_huge_answer_is_read_only_as_far_as_it_is_kept(receiver, fast_sends):
    receiver.default = {"status": 200, "body": b"x" * 5_000_000}
    _, delivery_id = webhook_delivery(receiver.url)
    assert attempt(delivery_id).status == "delivered"
    assert attempts(delivery_id)[0].response_body == "x" * channels.webhook.RESPONSE_BODY_KEPT
    # the rest of it is never read: its connection is closed, and the next webhook has a new one
    receiver.default = 200
    _, next_id = webhook_delivery(receiver.url, generated_project_id=8)
    assert attempt(next_id).status == "delivered"
    assert receiver.requests[0]["connection"] != receiver.requests[1]["connection"]


def test_webhooks_to_a_receiver_share_one_kept_alive_connection(receiver, fast_sends):
    sent = [webhook_delivery(receiver.url, generated_project_id=project)[1] for project in (7, 8, 9)]
    assert [attempt(delivery_id).status for delivery_id in sent] == ["delivered"] * 3
    assert len({request["connection"] for request in receiver.requests}) == 1


def test_a_kept_connection_the_receiver_dropped_is_replaced_without_a_failed_attempt(receiver, fast_sends):
    _, first = webhook_delivery(receiver.url)
    assert attempt(first).status == "delivered"
    receiver.close()  # goes down, connections and all, and comes back on the same port
    again = WebhookReceiver(port=receiver.port)
    try:
        _, second = webhook_delivery(receiver.url, generated_project_id=8)
        delivery = attempt(second)
        assert (delivery.status, delivery.attempts, len(again.requests)) == ("delivered", 1, 1)
    finally:
        again.close()


def test_connections_are_kept_per_checked_address_never_shared_with_another():
    def target(host: str, address: str) -> Target:
        return Target(scheme="https", host=host, address=address, port=443, path="/")

    pool = receiver_pool(target("hooks.example.com", "93.184.216.34"))
    assert receiver_pool(target("hooks.example.com", "93.184.216.34")) is pool
    assert receiver_pool(target("hooks.example.com", "203.0.113.9")) is not pool  # it resolves elsewhere now
    assert receiver_pool(target("other.example.com", "93.184.216.34")) is not pool  # its TLS name differs
    receiver_pools_close()


def test_a_connection_past_a_receivers_idle_share_closes_after_use_without_a_warning(receiver, settings, caplog):
    settings.NOTIFIER = {**settings.NOTIFIER, "ENDPOINT_CONCURRENCY": 1}
    pool = receiver_pool(Target("http", "127.0.0.1", "127.0.0.1", receiver.port, "/"))
    urllib3_log = logging.getLogger("urllib3.connectionpool")

    def two_at_once() -> list[str]:
        """Two webhooks in flight at once to a receiver that keeps one idle: the second has no place after."""
        answers = [pool.urlopen("POST", "/", body=b"{}", preload_content=False) for _ in range(2)]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=urllib3_log.name):
            for answer in answers:
                answer.read()
                answer.release_conn()
        return [r.getMessage() for r in caplog.records if r.name == urllib3_log.name]

    assert two_at_once() == []
    urllib3_log.removeFilter(POOL_FULL_LEFT_OUT)  # what the filter knows urllib3 by: still its words
    try:
        assert [message.startswith(POOL_FULL) for message in two_at_once()] == [True]
    finally:
        urllib3_log.addFilter(POOL_FULL_LEFT_OUT)
    assert len({request["connection"] for request in receiver.requests}) == 3  # one of the first two kept


def test_idle_connections_kept_are_bounded_by_closing_the_least_recently_used_receivers(settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "ENDPOINT_CONCURRENCY": IDLE_KEPT // 2}  # two receivers' worth
    first, second, third = (Target("http", "hooks.example.com", f"203.0.113.{n}", 80, "/") for n in (1, 2, 3))
    kept, dropped = receiver_pool(first), receiver_pool(second)
    assert receiver_pool(first) is kept  # used again: now the second is the least recent
    receiver_pool(third)
    assert receiver_pool(first) is kept
    assert receiver_pool(second) is not dropped  # its connections were closed; it starts again
    receiver_pools_close()


def test_a_connection_closed_mid_answer_is_an_error_and_retried(receiver, fast_sends):
    receiver.default = "close"
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "pending" and delivery.last_error
    assert attempts(delivery_id)[0].error == delivery.last_error


def test_an_unsafe_target_is_an_attempt_on_record_without_a_connection(receiver, fast_sends, settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "WEBHOOK_ALLOW_LOOPBACK": False}
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert delivery.status == "failed" and "loopback" in delivery.last_error
    assert attempts(delivery_id)[0].error == delivery.last_error and receiver.requests == []


def test_a_defect_while_sending_is_an_attempt_on_record_and_releases_the_claim(receiver, fast_sends, monkeypatch):
    def broken(delivery):
        raise RuntimeError("a bug in the sender")

    monkeypatch.setitem(channels.SENDERS, "webhook", broken)
    _, delivery_id = webhook_delivery(receiver.url)
    delivery = attempt(delivery_id)
    assert (delivery.status, delivery.last_error, delivery.claimed_until) == (
        "pending", "RuntimeError: a bug in the sender", None,
    )  # fmt: skip


def test_email_goes_to_the_projects_address_with_the_event_id(smtp_sink, fast_sends):
    event = envelope()
    [delivery_id] = inbox_take(event).delivery_ids
    delivery = attempt(delivery_id)
    assert delivery.status == "delivered" and attempts(delivery_id)[0].status_code == 250
    [message] = smtp_sink.messages
    assert message["To"] == "team@example.com"
    assert message["Subject"] == "Generation completed for shop"
    assert message["X-Event-ID"] == str(event.event_id)


@pytest.mark.parametrize("address", ["ops@localhost", "ops@[10.0.0.1]", "ops@127.0.0.1"])
def test_email_to_an_address_the_projects_api_now_refuses_fails_unsent_with_the_reason(smtp_sink, fast_sends, address):
    [delivery_id] = inbox_take(envelope(payload=generation_payload(notification_email=address))).delivery_ids
    delivery = attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.last_error.startswith("refused: ")
    assert smtp_sink.messages == []


def test_email_to_a_dead_smtp_server_is_retried_then_failed(fast_sends, settings):
    from devinfra.ports import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    [delivery_id] = inbox_take(envelope()).delivery_ids
    for _ in range(3):
        delivery = attempt(delivery_id)
    assert delivery.status == "failed" and delivery.attempts == 3 and "gave up" in delivery.last_error


def test_webhook_body_is_the_event(receiver, fast_sends):
    event, delivery_id = webhook_delivery(receiver.url)
    body = json.loads(Delivery.objects.get(pk=delivery_id).body)
    assert body["data"]["total_files"] == 3 and body["type"] == event.event_type


def test_a_webhook_to_an_ipv6_literal_sends_a_bracketed_host_header(receiver, fast_sends):
    url = receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")
    _, delivery_id = webhook_delivery(url)
    assert attempt(delivery_id).status == "delivered"
    port = url.split("]:")[1].split("/")[0]
    assert receiver.requests[0]["headers"]["Host"] == f"[::ffff:127.0.0.1]:{port}"


def test_a_new_channel_is_one_registration(monkeypatch, fast_sends):
    """A channel registered in notifications.delivery.channels is planned, claimed, sent and recorded like the
    others, with nothing else to change."""
    sent = []

    def sms_send(delivery):
        sent.append((delivery.target, delivery.body))
        return SendResult(Verdict.DELIVERED, status_code=202)

    sms = ChannelSpec(targets=lambda p: [f"+owner-{p.owner_id}"], body=lambda notice, e, late: notice.subject,
                      send=sms_send)  # fmt: skip
    monkeypatch.setitem(channels.CHANNELS, "sms", sms)
    monkeypatch.setitem(channels.SENDERS, "sms", sms_send)
    [delivery_id] = inbox_take(envelope(payload=generation_payload(notification_email=None))).delivery_ids
    deliveries_send_due()
    assert sent == [("+owner-9", "Generation completed for shop")]
    assert Delivery.objects.get(pk=delivery_id).status == "delivered" and attempts(delivery_id)[0].status_code == 202
