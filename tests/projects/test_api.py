"""The REST API: walkthrough, scoping to the owner, filters, pagination, transitions, files, exports."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from codegen_telemetry.logs import WorkContextFilter
from outbox.models import OutboxEvent
from projects.models import GeneratedProject, Project
from tests.projects.conftest import client_for
from tests.projects.factories import GeneratedProjectFactory, ProjectFactory, ProjectFileFactory

pytestmark = pytest.mark.django_db


def advance(api, generated_project_id, *statuses):
    for status in statuses:
        response = api.patch(f"/api/v1/generated-projects/{generated_project_id}/", {"status": status}, format="json")
        assert response.status_code == 200, response.json()
    return response.json()


def test_readme_walkthrough(api):
    project = api.post(
        "/api/v1/projects/",
        {"name": "shop", "notification_email": "team@example.com", "webhook_url": "https://hooks.example.com/x"},
        format="json",
    )
    assert project.status_code == 201, project.json()
    generated = api.post("/api/v1/generated-projects/", {"project": project.json()["id"]}, format="json")
    assert generated.status_code == 201
    assert generated.json()["status"] == "pending"
    gp = generated.json()["id"]
    advance(api, gp, "generating")
    files = api.post(
        f"/api/v1/generated-projects/{gp}/files/",
        [{"path": "README.md", "file_size": 120}, {"path": "src/main.py", "file_size": 2048}],
        format="json",
    )
    assert files.status_code == 201, files.json()
    body = advance(api, gp, "completed")
    assert (body["total_files"], body["total_size"]) == (2, 2168)
    export = api.post(
        "/api/v1/exports/",
        {"generated_project": gp, "repository_url": "https://git.example.com/shop.git"},
        format="json",
    )
    assert export.status_code == 201, export.json()
    export_id = export.json()["id"]
    for status in ["running", "completed"]:
        response = api.patch(f"/api/v1/exports/{export_id}/", {"status": status}, format="json")
        assert response.status_code == 200, response.json()
    assert list(OutboxEvent.objects.values_list("event_type", flat=True)) == [
        "generation.started",
        "generation.running",
        "generation.completed",
        "export.requested",
        "export.running",
        "export.completed",
    ]
    completed = OutboxEvent.objects.get(event_type="generation.completed")
    assert completed.payload["total_files"] == 2 and completed.payload["total_size"] == 2168


def test_unauthenticated_requests_get_401():
    anonymous = APIClient()
    for url in ["/api/v1/projects/", "/api/v1/generated-projects/", "/api/v1/exports/"]:
        response = anonymous.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_bad_token_gets_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401


def test_another_users_objects_are_404_everywhere(api, other_user):
    theirs = GeneratedProjectFactory(project=ProjectFactory(owner=other_user))
    their_file = ProjectFileFactory(generated_project=theirs)
    for url in [
        f"/api/v1/projects/{theirs.project_id}/",
        f"/api/v1/generated-projects/{theirs.pk}/",
        f"/api/v1/generated-projects/{theirs.pk}/files/",
        f"/api/v1/generated-projects/{theirs.pk}/files/{their_file.pk}/",
    ]:
        assert api.get(url).status_code == 404, url
    assert (
        api.patch(f"/api/v1/generated-projects/{theirs.pk}/", {"status": "generating"}, format="json").status_code
        == 404
    )
    assert api.delete(f"/api/v1/projects/{theirs.project_id}/").status_code == 404
    assert api.delete(f"/api/v1/generated-projects/{theirs.pk}/files/{their_file.pk}/").status_code == 404
    assert api.get("/api/v1/projects/").json()["results"] == []
    assert Project.objects.filter(pk=theirs.project_id).exists()


def test_foreign_key_to_another_users_project_is_404_naming_the_field(api, other_user):
    theirs = ProjectFactory(owner=other_user)
    response = api.post("/api/v1/generated-projects/", {"project": theirs.pk}, format="json")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert "project" in body["fields"]
    assert body["detail"].startswith("project: No project")
    assert not GeneratedProject.objects.exists()


def test_project_crud(api, user):
    created = api.post("/api/v1/projects/", {"name": "a", "description": "first"}, format="json").json()
    assert created["owner"] == user.pk
    patched = api.patch(f"/api/v1/projects/{created['id']}/", {"name": "b"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "b"
    assert api.get(f"/api/v1/projects/{created['id']}/").json()["description"] == "first"
    assert api.delete(f"/api/v1/projects/{created['id']}/").status_code == 204
    assert api.get(f"/api/v1/projects/{created['id']}/").status_code == 404


def test_put_is_not_offered(api, project):
    response = api.put(f"/api/v1/projects/{project.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405


def test_generated_project_filters(api, project):
    other_project = ProjectFactory(owner=project.owner)
    first = GeneratedProjectFactory(project=project)
    GeneratedProjectFactory(project=other_project)
    advance(api, first.pk, "generating")
    by_project = api.get(f"/api/v1/generated-projects/?project={project.pk}").json()
    assert [r["id"] for r in by_project["results"]] == [first.pk]
    by_status = api.get("/api/v1/generated-projects/?status=generating").json()
    assert [r["id"] for r in by_status["results"]] == [first.pk]
    bad = api.get("/api/v1/generated-projects/?status=exploded")
    assert bad.status_code == 400 and "status" in bad.json()["fields"]
    bad = api.get("/api/v1/generated-projects/?project=abc")
    assert bad.status_code == 400 and "project" in bad.json()["fields"]


def test_pagination_refuses_a_page_size_over_the_maximum(api, project):
    for _ in range(5):
        GeneratedProjectFactory(project=project)
    page = api.get("/api/v1/generated-projects/?page_size=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert len(api.get("/api/v1/generated-projects/?page_size=200").json()["results"]) == 5
    over = api.get("/api/v1/generated-projects/?page_size=201")
    assert over.status_code == 400 and "page_size" in over.json()["fields"]
    assert api.get("/api/v1/generated-projects/?page=99").status_code == 404


def test_invalid_transition_is_409_and_changes_nothing(api, generated_project):
    response = api.patch(f"/api/v1/generated-projects/{generated_project.pk}/", {"status": "completed"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert "pending" in body["detail"] and "completed" in body["detail"]
    assert body["from_status"] == "pending" and body["to_status"] == "completed"
    generated_project.refresh_from_db()
    assert generated_project.status == "pending"
    assert OutboxEvent.objects.count() == 1


def test_same_status_again_is_409(api, generated_project):
    advance(api, generated_project.pk, "generating")
    response = api.patch(f"/api/v1/generated-projects/{generated_project.pk}/", {"status": "generating"}, format="json")
    assert response.status_code == 409
    assert OutboxEvent.objects.count() == 2


def test_files_single_and_list_and_delete_keep_totals(api, generated_project):
    url = f"/api/v1/generated-projects/{generated_project.pk}/files/"
    one = api.post(url, {"path": "./src//a.py", "file_size": 10}, format="json")
    assert one.status_code == 201 and one.json()["path"] == "src/a.py"
    api.post(url, [{"path": f"f{i}.txt", "file_size": i} for i in range(5)], format="json")
    listing = api.get(url).json()
    assert listing["count"] == 6
    generated_project.refresh_from_db()
    assert (generated_project.total_files, generated_project.total_size) == (6, 20)
    assert api.delete(f"{url}{one.json()['id']}/").status_code == 204
    generated_project.refresh_from_db()
    assert (generated_project.total_files, generated_project.total_size) == (5, 10)


def test_files_are_frozen_after_generation(api, generated_project):
    url = f"/api/v1/generated-projects/{generated_project.pk}/files/"
    created = api.post(url, {"path": "a.py", "file_size": 1}, format="json").json()
    advance(api, generated_project.pk, "generating", "completed")
    response = api.post(url, {"path": "b.py", "file_size": 1}, format="json")
    assert response.status_code == 409 and "completed" in response.json()["detail"]
    assert api.delete(f"{url}{created['id']}/").status_code == 409
    generated_project.refresh_from_db()
    assert generated_project.total_files == 1


def test_export_needs_a_completed_generation(api, generated_project):
    response = api.post(
        "/api/v1/exports/",
        {"generated_project": generated_project.pk, "repository_url": "https://g.example/r.git"},
        format="json",
    )
    assert response.status_code == 409 and "completed" in response.json()["detail"]


def test_export_failure_needs_an_error_and_records_it(api, generated_project):
    advance(api, generated_project.pk, "generating", "completed")
    export = api.post(
        "/api/v1/exports/",
        {"generated_project": generated_project.pk, "repository_url": "git://g.example/r.git"},
        format="json",
    ).json()
    url = f"/api/v1/exports/{export['id']}/"
    missing = api.patch(url, {"status": "failed"}, format="json")
    assert missing.status_code == 400 and "error" in missing.json()["fields"]
    stray = api.patch(url, {"status": "running", "error": "x"}, format="json")
    assert stray.status_code == 400 and "error" in stray.json()["fields"]
    failed = api.patch(url, {"status": "failed", "error": "remote hung up"}, format="json")
    assert failed.status_code == 200 and failed.json()["error"] == "remote hung up"
    again = api.patch(url, {"status": "running"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    listed = api.get(f"/api/v1/exports/?generated_project={generated_project.pk}&status=failed").json()
    assert [e["id"] for e in listed["results"]] == [export["id"]]


def test_other_users_cannot_export_my_generation(generated_project, other_user):
    generated_project.status = "generating"
    generated_project.save()
    generated_project.status = "completed"
    generated_project.save()
    response = client_for(other_user).post(
        "/api/v1/exports/",
        {"generated_project": generated_project.pk, "repository_url": "https://g.example/r.git"},
        format="json",
    )
    assert response.status_code == 404 and "generated_project" in response.json()["fields"]


def test_correlation_id_is_echoed_and_recorded(api, project):
    response = api.post(
        "/api/v1/generated-projects/", {"project": project.pk}, format="json", HTTP_X_CORRELATION_ID="trace-42"
    )
    assert response["X-Correlation-ID"] == "trace-42"
    assert OutboxEvent.objects.get().headers == {"correlation_id": "trace-42"}


def test_malformed_correlation_id_is_replaced(api, project):
    response = api.post(
        "/api/v1/generated-projects/", {"project": project.pk}, format="json", HTTP_X_CORRELATION_ID="bad id\t<script>"
    )
    assert response["X-Correlation-ID"] != "bad id\t<script>"
    assert OutboxEvent.objects.get().headers["correlation_id"] == response["X-Correlation-ID"]


def test_a_refused_request_is_logged_with_its_correlation_id(api, caplog):
    # Django logs the 4xx after every middleware has returned: the line must still carry the request's id
    logger = logging.getLogger("django.request")
    logger.addHandler(caplog.handler)
    try:
        response = api.post("/api/v1/generated-projects/", {}, format="json", HTTP_X_CORRELATION_ID="trace-43")
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 400
    record = next(record for record in caplog.records if record.name == "django.request")
    WorkContextFilter().filter(record)
    assert record.correlation_id == "trace-43"


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("header", "recorded"),
    [
        (TRACEPARENT, TRACEPARENT),
        (f"01{TRACEPARENT[2:]}-future-field", f"01{TRACEPARENT[2:]}"),  # a later version: its version-00 part
        (f"{TRACEPARENT}-x", None),  # version 00 has nothing after the flags
        ("ff" + TRACEPARENT[2:], None),  # version ff is invalid
        ("00-" + "0" * 32 + TRACEPARENT[35:], None),  # an all-zero trace id is invalid
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),  # upper case is invalid
        ("garbage", None),
    ],
)
def test_the_requests_traceparent_is_recorded_in_the_event_when_valid(api, project, header, recorded):
    api.post("/api/v1/generated-projects/", {"project": project.pk}, format="json", HTTP_TRACEPARENT=header)
    headers = OutboxEvent.objects.get().headers
    assert headers.get("traceparent") == recorded


def test_health_probes_and_schema(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/generated-projects/{id}/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_unknown_url_is_json_404(api):
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_metrics_count_requests_by_view_method_and_status(api, client):
    api.get("/api/v1/projects/")
    text = client.get("/metrics").content.decode()
    line = next(
        line for line in text.splitlines()
        if line.startswith("django_http_responses_total_by_status_view_method_total{")
        and 'view="project-list"' in line and 'method="GET"' in line and 'status="200"' in line
    )  # fmt: skip
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
