"""Webhook endpoints over REST and from the command line: read, disable, enable, recover (recorded), and every
attempt of a delivery; bad input gets a 4xx naming the field, and another account's endpoint is a 404."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.delivery.runner import deliveries_send_due
from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, EndpointAction, Notification, ProjectAccess, WebhookEndpoint
from tests.notifier.conftest import envelope, generation_payload, notifier_database_url
from tests.notifier.test_api import client_for
from tests.support import NOTIFIER_MANAGE, REPO

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    user = get_user_model().objects.create_user("owner")
    ProjectAccess.objects.create(user=user, project_id=4)
    return client_for(user)


@pytest.fixture
def staff():
    return client_for(get_user_model().objects.create_user("ops", is_staff=True))


def endpoint_with_failures(url: str = "http://127.0.0.1:9/hooks", *, project_id: int = 4) -> WebhookEndpoint:
    inbox_take(envelope(payload=generation_payload(project_id=project_id, notification_email=None, webhook_url=url)))
    return WebhookEndpoint.objects.get(url=url, project_id=project_id)


def test_the_owner_reads_its_projects_endpoints_and_no_one_elses(owner, staff):
    mine, theirs = endpoint_with_failures(), endpoint_with_failures("http://127.0.0.1:9/other", project_id=5)
    listed = owner.get("/api/v1/webhook-endpoints/").json()
    assert [e["id"] for e in listed["results"]] == [mine.pk]
    assert set(listed["results"][0]) >= {"url", "state", "consecutive_failures", "last_success_at", "last_failure_at"}
    assert owner.get(f"/api/v1/webhook-endpoints/{theirs.pk}/").status_code == 404
    body = {"reason": "mine to break"}
    assert owner.post(f"/api/v1/webhook-endpoints/{theirs.pk}/disable/", body, format="json").status_code == 404
    assert staff.get("/api/v1/webhook-endpoints/?project_id=5").json()["count"] == 1
    assert not EndpointAction.objects.exists()


def test_disable_enable_and_recover_through_the_api_each_recorded(owner, receiver, fast_sends):
    receiver.default = 500
    endpoint = endpoint_with_failures(receiver.url)
    for _ in range(3):
        Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())
        deliveries_send_due()
    assert Delivery.objects.get(endpoint=endpoint).status == "failed"
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}"
    dry = owner.post(f"{url}/disable/", {"reason": "maintenance", "dry_run": True}, format="json")
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["endpoint"]["state"] == "enabled"
    done = owner.post(f"{url}/disable/", {"reason": "maintenance"}, format="json")
    assert done.status_code == 200 and done.json()["endpoint"]["state"] == "disabled", done.content
    assert done.json()["actor"] == "owner"
    assert Notification.objects.filter(event_type="webhook_endpoint.disabled").count() == 1
    again = owner.post(f"{url}/disable/", {"reason": "maintenance"}, format="json")
    assert again.status_code == 409 and "disabled already" in again.json()["detail"]
    refused = owner.post(f"{url}/recover/", {"reason": "back", "since": "2026-01-01T00:00:00Z"}, format="json")
    assert refused.status_code == 409 and "enable it" in refused.json()["detail"]
    assert owner.post(f"{url}/enable/", {"reason": "fixed"}, format="json").json()["endpoint"]["state"] == "enabled"
    assert Notification.objects.filter(event_type="webhook_endpoint.enabled").count() == 1
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    recovered = owner.post(f"{url}/recover/", {"reason": "receiver fixed", "since": since}, format="json").json()
    assert recovered["matched"] == 1 and recovered["since"]
    receiver.default = 200
    deliveries_send_due()
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered"
    assert list(EndpointAction.objects.order_by("id").values_list("action", "dry_run")) == [
        ("disable", True), ("disable", False), ("enable", False), ("recover", False),
    ]  # fmt: skip
    attempts = owner.get(f"/api/v1/deliveries/{delivery.pk}/attempts/").json()
    assert [a["status_code"] for a in attempts["results"]] == [500, 500, 500, 200]
    assert attempts["results"][0]["next_attempt_at"] and attempts["results"][-1]["next_attempt_at"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": " \t"}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "x", "dry_run": "yes"}, "dry_run"),
        ({"reason": "x", "since": "yesterday"}, "since"),
        ({"reason": "x", "since": "2026-02-30T00:00:00Z"}, "since"),
        ({"reason": "x", "since": "2026-01-01T00:00:00+24:00"}, "since"),
        ({"reason": "x", "since": "2026-01-01T00:00:00Z", "who": "me"}, "who"),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field(staff, body, field):
    endpoint = endpoint_with_failures()
    response = staff.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/recover/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.content
    assert not EndpointAction.objects.exists()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"DJANGO_SETTINGS_MODULE": "notifier_service.settings.test", "DATABASE_URL": notifier_database_url(),
           "PYTHONPATH": f"{REPO}:{REPO / 'services' / 'notifier'}", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run([sys.executable, str(NOTIFIER_MANAGE), "endpoints", *args], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_endpoints_command_lists_acts_and_exits_non_zero_when_it_could_not():
    endpoint = endpoint_with_failures()
    listed = run("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout.splitlines()[0])["url"] == endpoint.url
    disabled = run("disable", str(endpoint.pk), "--reason", "receiver retired", "--actor", "ann", "--json")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["action"] == "disable"
    assert WebhookEndpoint.objects.get().state == "disabled"
    assert EndpointAction.objects.get().actor == "ann"
    again = run("disable", str(endpoint.pk), "--reason", "twice")
    assert again.returncode == 1 and "disabled already" in again.stderr and "Traceback" not in again.stderr
    missing = run("enable", "99999", "--reason", "x")
    assert missing.returncode == 3 and "no webhook endpoint 99999" in missing.stderr
    assert run("enable", str(endpoint.pk), "--reason", "back").returncode == 0
    nothing = run("recover", str(endpoint.pk), "--reason", "x", "--since", "2999-01-01T00:00:00Z")
    assert nothing.returncode == 3 and "send 0 failed deliveries again" in nothing.stdout
    recovered = run("recover", str(endpoint.pk), "--reason", "receiver back", "--since", "1h")
    assert recovered.returncode == 0 and "send 1 failed delivery again" in recovered.stdout  # the one disabling ended
    bad = run("recover", str(endpoint.pk), "--reason", "x", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr
    assert EndpointAction.objects.count() == 4  # refusals record nothing
