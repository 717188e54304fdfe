"""The admin's outbox pages and replay action, through Django's test client."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from outbox.models import OutboxEvent, OutboxReplay
from tests.projects.factories import GeneratedProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def dead_row():
    GeneratedProjectFactory()
    row = OutboxEvent.objects.get()
    OutboxEvent.objects.filter(pk=row.pk).update(state="dead", attempts=10, last_error="boom")
    return row


def test_changelist_shows_counts_and_filters(browser, dead_row):
    page = browser.get("/admin/outbox/outboxevent/?state__exact=dead").content.decode()
    assert 'id="count-dead">1<' in page and "oldest pending" in page
    assert str(dead_row.event_id) in page


def test_replay_action_asks_for_a_reason_then_audits(browser, dead_row):
    url = "/admin/outbox/outboxevent/"
    ask = browser.post(url, {"action": "replay_selected", "_selected_action": [dead_row.pk]})
    assert ask.status_code == 200 and b"Replay outbox rows" in ask.content
    assert OutboxEvent.objects.get(pk=dead_row.pk).state == "dead"
    missing = browser.post(url, {"action": "replay_selected", "_selected_action": [dead_row.pk], "apply": "1"})
    assert b"This field is required" in missing.content and not OutboxReplay.objects.exists()
    done = browser.post(
        url, {"action": "replay_selected", "_selected_action": [dead_row.pk], "apply": "1", "reason": "redis back"}
    )
    assert done.status_code == 302
    assert OutboxEvent.objects.get(pk=dead_row.pk).state == "pending"
    audit = OutboxReplay.objects.get()
    assert (audit.source, audit.actor, audit.reason, audit.count) == ("admin", "root", "redis back", 1)
    log = browser.get(f"/admin/outbox/outboxreplay/{audit.pk}/change/").content.decode()
    assert "redis back" in log and str(dead_row.event_id) in log


def test_audit_log_is_read_only(browser, dead_row):
    assert browser.get("/admin/outbox/outboxreplay/add/").status_code == 403
