"""Operations over REST: staff only, same filters and replay semantics as the CLI, audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from outbox.models import OutboxEvent, OutboxReplay
from tests.projects.conftest import client_for
from tests.projects.factories import GeneratedProjectFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/outbox/"),
    ("get", "/api/v1/outbox/stats/"),
    ("get", "/api/v1/outbox/5b1d7b0e-1d7f-4a52-8b7b-7f0c1f9f2d11/"),
    ("post", "/api/v1/outbox/replay/"),
]


@pytest.fixture
def staff():
    return client_for(get_user_model().objects.create_user("oncall", is_staff=True))


@pytest.fixture
def dead_row():
    GeneratedProjectFactory()
    row = OutboxEvent.objects.get()
    OutboxEvent.objects.filter(pk=row.pk).update(state="dead", attempts=10, last_error="boom")
    return row


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_non_staff_get_403_and_learn_nothing(user, dead_row, method, url):
    response = getattr(client_for(user), method)(
        url, {"reason": "x", "event_ids": [str(dead_row.event_id)]}, format="json"
    )
    assert response.status_code == 403
    assert str(dead_row.event_id) not in response.content.decode()
    assert OutboxEvent.objects.get(pk=dead_row.pk).state == "dead"


def test_list_filters_and_detail(staff, dead_row):
    listing = staff.get("/api/v1/outbox/?state=dead").json()
    assert [r["event_id"] for r in listing["results"]] == [str(dead_row.event_id)]
    assert staff.get("/api/v1/outbox/?state=published").json()["count"] == 0
    bad = staff.get("/api/v1/outbox/?state=stuck")
    assert bad.status_code == 400 and "state" in bad.json()["fields"]
    detail = staff.get(f"/api/v1/outbox/{dead_row.event_id}/").json()
    assert detail["last_error"] == "boom" and "payload" in detail and detail["replays"] == []
    assert staff.get("/api/v1/outbox/5b1d7b0e-1d7f-4a52-8b7b-7f0c1f9f2d11/").status_code == 404


def test_stats(staff, dead_row):
    stats = staff.get("/api/v1/outbox/stats/").json()
    assert stats["dead"] == 1 and stats["by_type"]["generation.started"] == {"dead": 1}


def test_replay_dry_run_then_for_real(staff, dead_row):
    dry = staff.post(
        "/api/v1/outbox/replay/", {"filter": {"state": "dead"}, "reason": "check", "dry_run": True}, format="json"
    )
    assert dry.status_code == 200 and dry.json()["matched"] == 1 and dry.json()["replayed"] == 0
    assert OutboxEvent.objects.get(pk=dead_row.pk).state == "dead"
    done = staff.post(
        "/api/v1/outbox/replay/", {"event_ids": [str(dead_row.event_id)], "reason": "redis back"}, format="json"
    )
    assert done.json()["replayed"] == 1
    audit = OutboxReplay.objects.get()
    assert (audit.actor, audit.source, audit.reason, audit.count) == ("oncall", "rest", "redis back", 1)
    assert staff.get(f"/api/v1/outbox/{dead_row.event_id}/").json()["replays"][0]["reason"] == "redis back"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": {"state": "dead"}}, "reason"),
        ({"filter": {"state": "dead"}, "reason": ""}, "reason"),
        ({"filter": {"state": "dead"}, "reason": "\u000b \u3000"}, "reason"),
        ({"reason": "x"}, "filter"),
        ({"event_ids": ["nope"], "reason": "x"}, "event_ids[0]"),
        ({"event_ids": [False], "reason": "x"}, "event_ids[0]"),
        ({"filter": {"colour": "red"}, "reason": "x"}, "filter.colour"),
        ({"filter": {"state": "dead"}, "reason": 7}, "reason"),
        ({"filter": {"state": "dead"}, "reason": "x", "dry_run": 1}, "dry_run"),
        ({"filter": {"state": "dead"}, "reason": "x", "new_id": True}, "confirm"),
    ],
)
def test_bad_replay_requests_are_400(staff, dead_row, body, field):
    response = staff.post("/api/v1/outbox/replay/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not OutboxReplay.objects.exists()


def test_schema_documents_the_outbox_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/outbox/replay/" in schema and "/api/v1/outbox/stats/" in schema


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("older_than=99999999999999999999d", "older_than", "at most 36525 days"),
        ("older_than=36526d", "older_than", "at most 36525 days"),
        ("older_than=1e400s", "older_than", "expected a number and a unit"),
        ("older_than=%2010m", "older_than", "expected a number and a unit"),
        ("older_than=", "older_than", "May not be empty"),
        ("state=pending&state=dead", "state", "Give it once"),
        ("type=generation.completed%00", "type", "expected an event type"),
        ("aggregate=generated_project", "aggregate", "expected TYPE:ID"),
        (f"aggregate={'a' * 150}:{'1' * 60}", "aggregate", "expected TYPE:ID"),
        ("older_than=000000000000000000000000000000.0000000000d", "older_than", "expected a number and a unit"),
        ("page_size=0", "page_size", "whole number from 1 to 200"),
        ("page_size=0.5", "page_size", "whole number"),
        ("page=", "page", "May not be empty"),
        ("until=2026-01-01T00:00:00%2B99:00", "until", "not a valid date-time"),
        ("since=2026-02-30T00:00:00Z", "since", "day is out of range"),
        ("since=0001-01-01T00:00:00%2B01:00", "since", "out of range once in UTC"),
        ("since=2026-01-01T10:00", "since", "RFC 3339"),
    ],
)
def test_out_of_range_filters_are_400_naming_the_parameter(staff, dead_row, query, field, reason):
    response = staff.get(f"/api/v1/outbox/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and reason in response.json()["fields"][field][0]


def test_an_offset_postgresql_would_refuse_is_taken_in_utc(staff, dead_row):
    response = staff.get("/api/v1/outbox/?until=1943-09-20T22:51:43-23:25")
    assert response.status_code == 200 and response.json()["count"] == 0


def test_an_out_of_range_replay_filter_is_400_and_replays_nothing(staff, dead_row):
    body = {"filter": {"state": "dead", "until": "2026-01-01T00:00:00+99:00"}, "reason": "x"}
    response = staff.post("/api/v1/outbox/replay/", body, format="json")
    assert response.status_code == 400, response.content
    assert "until" in response.json()["detail"]
    assert not OutboxReplay.objects.exists() and OutboxEvent.objects.get().state == "dead"


def test_replay_of_ids_that_do_not_exist_is_404_naming_them_and_audits_nothing(staff, dead_row):
    missing = "00000000-0000-4000-8000-000000000001"
    body = {"event_ids": [str(dead_row.event_id), missing], "reason": "typo"}
    response = staff.post("/api/v1/outbox/replay/", body, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert missing in response.json()["fields"]["event_ids"][0]
    assert str(dead_row.event_id) not in response.json()["fields"]["event_ids"][0]
    assert not OutboxReplay.objects.exists() and OutboxEvent.objects.get().state == "dead"  # nothing replayed


def test_replay_whose_filter_matches_nothing_is_404_and_audits_nothing(staff, dead_row):
    body = {"filter": {"state": "dead", "type": "export.failed"}, "reason": "none of these"}
    response = staff.post("/api/v1/outbox/replay/", body, format="json")

    assert response.status_code == 404 and "filter" in response.json()["fields"]
    assert not OutboxReplay.objects.exists()
