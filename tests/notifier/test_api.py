"""The notifier's REST API: token-authenticated, filterable, read-only."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from codegen_telemetry.logs import WorkContextFilter
from notifications.intake.inbox import inbox_take
from tests.notifier.conftest import envelope, generation_payload

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def user():
    return get_user_model().objects.create_user("service")


@pytest.fixture
def api(user) -> APIClient:
    """A non-staff account: it reads only the projects granted to it."""
    return client_for(user)


@pytest.fixture
def staff_api() -> APIClient:
    return client_for(get_user_model().objects.create_user("ops", is_staff=True))


def test_notifications_list_and_filters(staff_api):
    first = envelope()
    inbox_take(first)
    inbox_take(envelope("generation.failed", generation_payload(project_id=5, to_status="failed")))
    everything = staff_api.get("/api/v1/notifications/").json()
    assert everything["count"] == 2
    item = staff_api.get("/api/v1/notifications/?project_id=4").json()["results"]
    assert [i["event_id"] for i in item] == [str(first.event_id)]
    assert set(item[0]) == {
        "id", "event_id", "event_type", "sequence", "late", "project_id", "recipient", "channel", "subject", "body",
        "created_at",
    }  # fmt: skip
    assert staff_api.get("/api/v1/notifications/?event_type=generation.failed").json()["count"] == 1
    assert staff_api.get("/api/v1/notifications/?since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert staff_api.get("/api/v1/notifications/?since=1943-09-20T22:51:43-23:25").json()["count"] == 2


def test_deliveries_list_and_filters(staff_api):
    inbox_take(envelope())
    assert staff_api.get("/api/v1/deliveries/?status=pending&channel=email").json()["count"] == 1
    assert staff_api.get("/api/v1/deliveries/?status=delivered").json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("notifications/?since=yesterday", "since", "RFC 3339"),
        ("notifications/?since=2026-01-01T00:00:00%2B99:00", "since", "offset"),
        ("notifications/?since=2026-01-01%2010:00", "since", "RFC 3339"),
        ("notifications/?since=9999-12-31T23:00:00-05:00", "since", "out of range once in UTC"),
        ("notifications/?project_id=9223372036854775808", "project_id", "less than or equal"),
        ("notifications/?project_id=1e19", "project_id", "whole number"),
        ("notifications/?project_id=0", "project_id", "greater than or equal"),
        ("notifications/?event_type=generation.completed%00", "event_type", "lower-case words"),
        ("notifications/?event_type=", "event_type", "May not be empty"),
        ("notifications/?project_id=4&project_id=5", "project_id", "Give it once"),
        ("notifications/?page=0", "page", "whole number"),
        ("notifications/?page_size=201", "page_size", "from 1 to 200"),
        ("deliveries/?channel=pigeon", "channel", "valid choice"),
        ("deliveries/?page=", "page", "May not be empty"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(staff_api, query, field, reason):
    response = staff_api.get(f"/api/v1/{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and reason in " ".join(body["fields"][field]), body


def test_every_error_under_api_is_json_with_one_code_per_status(staff_api):
    unknown = staff_api.get("/api/v1/nothing-here/")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    no_such = staff_api.get("/api/v1/notifications/999/")
    assert (no_such.status_code, no_such.json()["code"]) == (404, "not_found")
    not_allowed = staff_api.post("/api/v1/notifications/", {}, format="json")
    assert (not_allowed.status_code, not_allowed.json()["code"]) == (405, "method_not_allowed")
    assert "GET" in not_allowed["Allow"]
    anonymous = APIClient().get("/api/v1/notifications/")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


@pytest.mark.django_db(transaction=True)
def test_an_account_without_grants_reads_no_notification_or_delivery(api):
    inbox_take(envelope())
    from notifications.models import Delivery, Notification

    assert api.get("/api/v1/notifications/").json()["count"] == 0
    assert api.get("/api/v1/deliveries/").json()["count"] == 0
    assert api.get(f"/api/v1/notifications/{Notification.objects.get().pk}/").status_code == 404
    assert api.get(f"/api/v1/deliveries/{Delivery.objects.get().pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_account_reads_only_the_projects_granted_to_it(api, user, staff_api):
    from notifications.models import Delivery, Notification, ProjectAccess

    inbox_take(envelope())  # project 4
    inbox_take(envelope("generation.failed", generation_payload(project_id=5, to_status="failed")))
    ProjectAccess.objects.create(user=user, project_id=4)
    mine, theirs = Notification.objects.get(project_id=4), Notification.objects.get(project_id=5)
    listed = api.get("/api/v1/notifications/").json()
    assert [n["id"] for n in listed["results"]] == [mine.pk]
    assert api.get(f"/api/v1/notifications/{mine.pk}/").status_code == 200
    assert api.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert api.get("/api/v1/notifications/?project_id=5").json()["count"] == 0
    my_deliveries = {d.pk for d in Delivery.objects.filter(event=mine.event)}
    their_deliveries = {d.pk for d in Delivery.objects.filter(event=theirs.event)}
    assert my_deliveries and their_deliveries
    assert {d["id"] for d in api.get("/api/v1/deliveries/").json()["results"]} == my_deliveries
    for pk in their_deliveries:
        assert api.get(f"/api/v1/deliveries/{pk}/").status_code == 404
    assert staff_api.get("/api/v1/notifications/").json()["count"] == 2
    assert staff_api.get("/api/v1/deliveries/").json()["count"] == len(my_deliveries | their_deliveries)


def test_a_granted_account_still_reads_no_operator_endpoint(api, user):
    from notifications.models import ProjectAccess

    ProjectAccess.objects.create(user=user, project_id=4)
    for path in ("gaps/", "held/", "held/summary/", "held/m-poison/"):
        response = api.get(f"/api/v1/{path}")
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied"), path


def test_an_operator_grants_a_project_in_the_admin(client, user):
    from notifications.models import ProjectAccess

    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    response = client.post("/admin/notifications/projectaccess/add/", {"user": user.pk, "project_id": 4})
    assert response.status_code == 302, response.content
    grant = ProjectAccess.objects.get()
    assert (grant.user, grant.project_id, grant.granted_by) == (user, 4, "root")


def test_the_schema_and_its_docs_are_served(staff_api, client):
    schema = staff_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert {"/api/v1/notifications/", "/api/v1/deliveries/", "/api/v1/held/", "/api/v1/gaps/"} <= set(schema["paths"])
    listed = schema["paths"]["/api/v1/notifications/"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(listed)
    assert client.get("/api/docs/").status_code == 200


def test_api_needs_a_token():
    assert APIClient().get("/api/v1/notifications/").status_code == 401


def test_health(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"


def hold_one_of_each() -> dict[str, str]:
    """A parked event, an unknown type and a poison message; their ids by kind."""
    from codegen_contracts import envelope_to_builtins
    from notifications.errors import PoisonEnvelope
    from notifications.intake.consume import event_consume
    from tests.notifier.test_inbox import FakeMessage

    parked = {**envelope_to_builtins(envelope()), "schema_version": 2}
    unknown = {**envelope_to_builtins(envelope()), "event_type": "generation.teleported"}
    event_consume(parked, message=FakeMessage("a"))
    event_consume(unknown, message=FakeMessage("b"))
    with pytest.raises(PoisonEnvelope):
        event_consume({"event_id": "garbage"}, message=FakeMessage("m-poison"))
    return {"parked": parked["event_id"], "unknown": unknown["event_id"], "poison": "m-poison"}


@pytest.mark.django_db(transaction=True)
def test_held_messages_are_listed_summarised_and_shown_to_staff(staff_api):
    ids = hold_one_of_each()
    listed = staff_api.get("/api/v1/held/").json()
    assert listed["count"] == 3 and {m["kind"]: m["id"] for m in listed["results"]} == ids
    parked = staff_api.get("/api/v1/held/?kind=parked").json()["results"]
    assert [m["id"] for m in parked] == [ids["parked"]] and "newer" in parked[0]["reason"]
    assert staff_api.get("/api/v1/held/?kind=parked&kind=unknown").json()["count"] == 2
    summary = staff_api.get("/api/v1/held/summary/").json()["held"]
    assert {(s["kind"], s["event_type"], s["schema_version"], s["count"]) for s in summary} == {
        ("poison", None, None, 1),
        ("parked", "generation.completed", 2, 1),
        ("unknown", "generation.teleported", 1, 1),
    }
    shown = staff_api.get(f"/api/v1/held/{ids['unknown']}/").json()
    assert shown["raw"]["event_type"] == "generation.teleported"
    assert staff_api.get("/api/v1/held/m-poison/").json()["raw"] == {"event_id": "garbage"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=lost", "kind"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("limit=1.0", "limit"),
        ("limit=1&limit=2", "limit"),
        ("event_type=a%00b", "event_type"),
    ],
)
def test_held_messages_filters_refuse_bad_values_by_name(staff_api, query, field):
    response = staff_api.get(f"/api/v1/held/?{query}")
    assert response.status_code == 400 and field in response.json()["fields"]


@pytest.mark.django_db(transaction=True)
def test_held_messages_are_for_staff_only(api):
    hold_one_of_each()
    assert api.get("/api/v1/held/").status_code == 403
    assert api.get("/api/v1/held/summary/").status_code == 403
    assert api.get("/api/v1/held/m-poison/").status_code == 403


def test_an_unknown_held_message_is_a_404(staff_api):
    assert staff_api.get("/api/v1/held/nothing/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_admin_replays_selected_poison_with_a_reason(client, smtp_sink):
    from notifications.models import Notification, PoisonMessage, Redrive
    from tests.notifier.test_contract_evolution import message, poisoned_by_the_previous_release

    record = poisoned_by_the_previous_release(message(payload=generation_payload(build_host="ci-7")))
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(admin)
    url = "/admin/notifications/poisonmessage/"
    selected = {"action": "replay_selected", "_selected_action": [record.pk]}
    confirm = client.post(url, selected)
    assert confirm.status_code == 200 and b"action-form" in confirm.content and b"m-old" in confirm.content
    refused = client.post(url, {**selected, "apply": "1", "reason": ""})
    assert refused.status_code == 200 and not Redrive.objects.exists()  # the form again: a reason is required
    done = client.post(url, {**selected, "apply": "1", "reason": "fixed"}, follow=True)
    assert b"1 taken in" in done.content
    assert Notification.objects.count() == 1 and PoisonMessage.objects.get().resolved_at is not None
    assert Redrive.objects.get().actor == "root"
    held = client.get("/admin/notifications/inboxevent/?held=yes")
    assert held.status_code == 200


def test_a_requests_correlation_id_is_echoed_and_logged(staff_api, caplog):
    # given a client's correlation id, and one that is not in the accepted form
    logger = logging.getLogger("django.request")
    logger.addHandler(caplog.handler)
    try:
        refused = APIClient().get("/api/v1/notifications/", HTTP_X_CORRELATION_ID="trace-44")
        answered = staff_api.get("/api/v1/notifications/", HTTP_X_CORRELATION_ID="bad id\t<script>")
    finally:
        logger.removeHandler(caplog.handler)
    # then each response echoes the id the request was handled with: the client's, or a new one
    assert (refused.status_code, refused["X-Correlation-ID"]) == (401, "trace-44")
    assert answered.status_code == 200 and answered["X-Correlation-ID"] not in ("", "bad id\t<script>")
    # and Django's line about the refused request carries it
    record = next(record for record in caplog.records if record.name == "django.request")
    WorkContextFilter().filter(record)
    assert record.correlation_id == "trace-44"
