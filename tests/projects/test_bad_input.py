"""Bad input: each gets a 4xx JSON error naming the field and the reason, never a 500, stores nothing."""

from __future__ import annotations

import json

import pytest

from outbox.models import OutboxEvent
from projects.models import GeneratedProject, Project, ProjectFile, RepositoryExport

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot(generated_project):
    """Counts of every stored table, compared after each bad request."""
    ProjectFile.objects.create(generated_project=generated_project, path="kept.txt", file_size=5)

    def take():
        return (
            Project.objects.count(),
            GeneratedProject.objects.count(),
            ProjectFile.objects.count(),
            RepositoryExport.objects.count(),
            OutboxEvent.objects.count(),
            list(GeneratedProject.objects.values_list("status", "total_files", "total_size")),
        )

    return take


def send(api, method, url, body, content_type="application/json"):
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return getattr(api, method)(url, raw, content_type=content_type)


def assert_rejected(response, status, field=None, reason=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] and body["detail"]
    if field is not None:
        assert field in body["fields"], body
        if reason is not None:
            assert reason.lower() in " ".join(body["fields"][field]).lower(), body
    return body


def files_url(generated_project):
    return f"/api/v1/generated-projects/{generated_project.pk}/files/"


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"name": }', b"\xff\xfe not utf-8", b"NaN", b'{"name": Infinity}'],
    ids=["truncated", "syntax", "not-utf8", "nan", "infinity"],
)
def test_malformed_json_is_400(api, snapshot, raw):
    before = snapshot()
    response = send(api, "post", "/api/v1/projects/", raw)
    body = assert_rejected(response, 400)
    assert body["code"] == "parse_error" and "JSON" in body["detail"]
    assert snapshot() == before


def test_body_nested_thousands_deep_is_400(api, snapshot):
    before = snapshot()
    response = send(api, "post", "/api/v1/projects/", "[" * 100_000 + "]" * 100_000)
    body = assert_rejected(response, 400)
    assert "nested" in body["detail"]
    response = send(api, "post", "/api/v1/projects/", {"name": "x", "description": json.loads("[" * 40 + "]" * 40)})
    body = assert_rejected(response, 400)
    [(where, reasons)] = body["fields"].items()
    assert where.startswith("description[0]") and "nested" in reasons[0]
    assert snapshot() == before


def test_oversized_body_is_413(api, snapshot, settings):
    before = snapshot()
    response = send(
        api, "post", "/api/v1/projects/", {"name": "x", "description": "a" * (settings.API_MAX_BODY_BYTES + 1)}
    )
    body = assert_rejected(response, 413)
    assert body["code"] == "request_too_large"
    assert snapshot() == before


def test_non_json_content_type_is_415(api, snapshot):
    before = snapshot()
    response = api.post("/api/v1/projects/", "name=x", content_type="application/x-www-form-urlencoded")
    assert_rejected(response, 415)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": "a\u0000b"}, "name", "nul"),
        ('{"name": "\\ud800"}', "name", "surrogate"),
        ('{"name": "ok", "description": "x\\udfff"}', "description", "surrogate"),
        ({"name": 5}, "name", "string"),
        ({"name": ""}, "name", "blank"),
        ({"name": "x" * 201}, "name", "200"),
        ({}, "name", "required"),
        ({"name": "x", "notification_email": "not-an-email"}, "notification_email", "email"),
        ({"name": "x", "webhook_url": "javascript:alert(1)"}, "webhook_url", "url"),
        ({"name": "x", "webhook_url": "ftp://files.example.com/x"}, "webhook_url", "url"),
        ({"name": "x", "webhook_url": "http://user:pw@127.0.0.1/x"}, "webhook_url", "credentials"),
        ({"name": "x", "webhook_url": "http://example.com:99999/x"}, "webhook_url", "port"),
        ({"name": "x", "webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook_url", "metadata"),
        ({"name": "x", "webhook_url": "http://[fd00:ec2::254]/"}, "webhook_url", "aws instance metadata"),
        ({"name": "x", "webhook_url": "http://10.1.2.3/hook"}, "webhook_url", "private address"),
        ({"name": "x", "notification_email": "ops@localhost"}, "notification_email", "this machine"),
        ({"name": "x", "notification_email": "ops@[10.0.0.1]"}, "notification_email", "ip-literal"),
        ({"name": "x", "owner": 1}, "owner", "read-only"),
        ({"name": "x", "id": 1}, "id", "read-only"),
        ({"name": "x", "colour": "red"}, "colour", "unknown"),
        ([{"name": "x"}], "body", "dictionary"),
    ],
)
def test_bad_project_fields_are_400_naming_the_field(api, snapshot, body, field, reason):
    before = snapshot()
    assert_rejected(send(api, "post", "/api/v1/projects/", body), 400, field, reason)
    assert snapshot() == before


def test_loopback_webhooks_are_refused_where_the_notifier_refuses_them(api, snapshot, settings):
    settings.PROJECTS = {**settings.PROJECTS, "WEBHOOK_ALLOW_LOOPBACK": False}
    before = snapshot()
    for url in ["http://127.0.0.1:8001/hook", "http://localhost/hook", "http://[::ffff:127.0.0.1]/x"]:
        body = {"name": "x", "webhook_url": url}
        assert_rejected(send(api, "post", "/api/v1/projects/", body), 400, "webhook_url", "loopback")
    assert snapshot() == before
    ok = send(api, "post", "/api/v1/projects/", {"name": "x", "webhook_url": "https://hooks.example.com/x"})
    assert ok.status_code == 201


def test_bad_project_patch_is_400_and_keeps_the_stored_values(api, project, snapshot):
    before = snapshot()
    response = send(api, "patch", f"/api/v1/projects/{project.pk}/", {"name": "new", "notification_email": "@@"})
    assert_rejected(response, 400, "notification_email")
    project.refresh_from_db()
    assert project.name != "new"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"project": "MINE", "status": "completed"}, "status", "read-only"),
        ({"project": "MINE", "total_files": 3}, "total_files", "read-only"),
        ({"project": "MINE", "total_size": 3}, "total_size", "read-only"),
        ({"project": 0}, "project", "from 1 to"),
        ({"project": "1"}, "project", "incorrect type"),
        ({"project": True}, "project", "incorrect type"),
        ({}, "project", "required"),
    ],
)
def test_bad_generated_project_creation_is_400(api, project, snapshot, body, field, reason):
    if body.get("project") == "MINE":
        body = {**body, "project": project.pk}
    before = snapshot()
    assert_rejected(send(api, "post", "/api/v1/generated-projects/", body), 400, field, reason)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"status": "exploded"}, "status", "not a valid choice"),
        ({"status": 3}, "status", "not a valid choice"),
        ({}, "status", "required"),
        ({"status": "generating", "total_files": 9}, "total_files", "unknown"),
    ],
)
def test_bad_transition_body_is_400(api, generated_project, snapshot, body, field, reason):
    before = snapshot()
    response = send(api, "patch", f"/api/v1/generated-projects/{generated_project.pk}/", body)
    assert_rejected(response, 400, field, reason)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        ({"path": "a.py", "file_size": -1}, "file_size", "greater than or equal to 0"),
        ({"path": "a.py", "file_size": 1.5}, "file_size", "fraction"),
        ({"path": "a.py", "file_size": "10"}, "file_size", "json integer"),
        ({"path": "a.py", "file_size": True}, "file_size", "boolean"),
        ({"path": "a.py", "file_size": 10**30}, "file_size", "less than or equal"),
        ({"path": "a.py", "file_size": 2**40 + 1}, "file_size", "less than or equal"),
        ({"path": "a.py"}, "file_size", "required"),
        ({"path": "/etc/passwd", "file_size": 1}, "path", "relative"),
        ({"path": "src/../../x", "file_size": 1}, "path", ".."),
        ({"path": "src\\win.py", "file_size": 1}, "path", "backslash"),
        ({"path": "", "file_size": 1}, "path", "blank"),
        ({"path": "a" * 1025, "file_size": 1}, "path", "1024"),
        ({"path": "é" * 600, "file_size": 1}, "path", "1024 bytes"),
        ({"path": "a\u0000b", "file_size": 1}, "path", "nul"),
        ({"path": "a\u0085b", "file_size": 1}, "path", "control characters (U+0085)"),
        ({"path": "\u202etxt.exe", "file_size": 1}, "path", "format characters (U+202E)"),
        ({"path": "\uff0e\uff0e/x", "file_size": 1}, "path", "NFKC"),
        ({"path": "src/CON.txt", "file_size": 1}, "path", "reserved device"),
        ({"path": 7, "file_size": 1}, "path", "string"),
        ({"path": "a.py", "file_size": 1, "generated_project": 1}, "generated_project", "unknown"),
        ({"path": "a.py", "file_size": 1, "id": 1}, "id", "read-only"),
    ],
)
def test_bad_single_file_is_400(api, generated_project, snapshot, item, field, reason):
    before = snapshot()
    assert_rejected(send(api, "post", files_url(generated_project), item), 400, field, reason)
    assert snapshot() == before


def test_bad_item_in_bulk_names_its_index_and_stores_nothing(api, generated_project, snapshot):
    before = snapshot()
    items = [{"path": f"ok{i}.py", "file_size": 1} for i in range(5)]
    items[3] = {"path": "../escape", "file_size": 1}
    body = assert_rejected(send(api, "post", files_url(generated_project), items), 400, "[3].path", "..")
    assert "[3].path" in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("path", ["kept.txt", "./kept.txt"])
def test_a_path_already_stored_is_409_naming_it(api, generated_project, snapshot, path):
    before = snapshot()
    body = assert_rejected(send(api, "post", files_url(generated_project), {"path": path, "file_size": 1}), 409,
                           "path", "already exists")  # fmt: skip
    assert body["code"] == "conflict"
    assert snapshot() == before


def test_duplicate_paths_in_one_bulk_are_409(api, generated_project, snapshot):
    before = snapshot()
    items = [{"path": "a.py", "file_size": 1}, {"path": "b.py", "file_size": 1}, {"path": "./a.py", "file_size": 2}]
    assert_rejected(send(api, "post", files_url(generated_project), items), 409, "[2].path", "twice")
    assert snapshot() == before


def test_bulk_path_already_stored_is_409(api, generated_project, snapshot):
    before = snapshot()
    items = [{"path": "new.py", "file_size": 1}, {"path": "kept.txt", "file_size": 1}]
    assert_rejected(send(api, "post", files_url(generated_project), items), 409, "[1].path", "already exists")
    assert snapshot() == before


def test_a_generated_project_of_no_visible_project_is_404_naming_the_field(api, snapshot):
    before = snapshot()
    body = assert_rejected(send(api, "post", "/api/v1/generated-projects/", {"project": 999999}), 404, "project")
    assert body["code"] == "not_found" and "999999" in body["detail"]
    assert snapshot() == before


def test_empty_and_oversized_bulks_are_400(api, generated_project, snapshot):
    before = snapshot()
    assert_rejected(send(api, "post", files_url(generated_project), []), 400, "body", "empty")
    too_many = [{"path": f"f{i}", "file_size": 1} for i in range(1001)]
    assert_rejected(send(api, "post", files_url(generated_project), too_many), 400, "body", "1000")
    assert_rejected(send(api, "post", files_url(generated_project), [1, 2]), 400, "[0].body")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"repository_url": "not a url"}, "repository_url", "url"),
        ({"repository_url": "file:///etc/passwd"}, "repository_url", "url"),
        ({"repository_url": "https://g.example/r.git", "status": "completed"}, "status", "read-only"),
        ({"repository_url": "https://g.example/r.git", "error": "x"}, "error", "read-only"),
        ({}, "repository_url", "required"),
    ],
)
def test_bad_export_creation_is_400(api, generated_project, snapshot, body, field, reason):
    before = snapshot()
    response = send(api, "post", "/api/v1/exports/", {"generated_project": generated_project.pk, **body})
    assert_rejected(response, 400, field, reason)
    assert snapshot() == before


def test_unknown_export_status_is_400(api, generated_project):
    generated_project.status = "generating"
    generated_project.save()
    generated_project.status = "completed"
    generated_project.save()
    export = RepositoryExport.objects.create(
        generated_project=generated_project, repository_url="https://g.example/r.git"
    )
    response = send(api, "patch", f"/api/v1/exports/{export.pk}/", {"status": "shipped"})
    assert_rejected(response, 400, "status", "not a valid choice")
    export.refresh_from_db()
    assert export.status == "pending"


@pytest.mark.parametrize(
    ("url", "field", "reason"),
    [
        ("/api/v1/generated-projects/?project=9223372036854775808", "project", "less than or equal to"),
        ("/api/v1/generated-projects/?project=1e19", "project", "whole number"),
        ("/api/v1/generated-projects/?project=-1e19", "project", "whole number"),
        ("/api/v1/generated-projects/?project=1.5", "project", "whole number"),
        ("/api/v1/generated-projects/?project=0", "project", "greater than or equal to 1"),
        ("/api/v1/exports/?generated_project=1e30", "generated_project", "whole number"),
        ("/api/v1/exports/?generated_project=99999999999999999999", "generated_project", "less than or equal to"),
    ],
)
def test_id_filters_beyond_a_database_id_are_400_naming_the_parameter(api, snapshot, url, field, reason):
    before = snapshot()
    assert_rejected(api.get(url), 400, field, reason)
    assert snapshot() == before


@pytest.mark.parametrize("debug", [False, True], ids=["production-like", "debug"])
def test_errors_under_api_are_json_with_one_code_per_status_in_every_settings_module(api, settings, debug):
    settings.DEBUG = debug
    unrouted = api.get("/api/v1/generated-projects/x,y/files/")
    assert (unrouted.status_code, unrouted["Content-Type"], unrouted.json()["code"]) == (
        404, "application/json", "not_found",
    )  # fmt: skip
    missing = api.get("/api/v1/projects/999999999/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    not_allowed = api.delete("/api/v1/projects/")
    assert (not_allowed.status_code, not_allowed.json()["code"]) == (405, "method_not_allowed")
    big = b'{"name": "' + b"x" * (settings.API_MAX_BODY_BYTES + 10) + b'"}'
    too_large = api.generic("POST", "/api/v1/projects/", big, content_type="application/json")
    assert (too_large.status_code, too_large.json()["code"]) == (413, "request_too_large")
