"""The projects API's OpenAPI schema says what the API does (the fuzzing test checks it against the
running API; these pin the cases the issue named)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        assert {"401", "403"} <= codes, (path, method)
        if operation.get("requestBody"):
            assert {"400", "413", "415"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)
        for code in codes - {"200", "201", "204"}:
            content = operation["responses"][code]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Error"}, (path, method, code)


def test_the_files_list_is_documented_paginated_and_creation_as_object_or_array(schema):
    files = schema["paths"]["/api/v1/generated-projects/{generated_project_id}/files/"]
    listed = files["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/PaginatedProjectFileList")
    body = files["post"]["requestBody"]["content"]["application/json"]["schema"]
    [one, many] = body["oneOf"]
    assert one["$ref"].endswith("/ProjectFileRequest") and many["type"] == "array" and many["maxItems"] == 1000
    assert {"404", "409"} <= set(files["post"]["responses"])


def test_a_transition_body_requires_its_status_and_takes_nothing_else(schema):
    components = schema["components"]["schemas"]
    for name in ("GeneratedProjectTransitionRequest", "RepositoryExportTransitionRequest"):
        assert components[name]["required"][0] == "status" and components[name]["additionalProperties"] is False


def test_an_export_transition_documents_that_error_comes_with_failed_only(schema):
    failed, others = schema["components"]["schemas"]["RepositoryExportTransitionRequest"]["oneOf"]
    assert failed["required"] == ["status", "error"] and failed["properties"]["status"]["enum"] == ["failed"]
    assert "failed" not in others["properties"]["status"]["enum"] and others["not"] == {"required": ["error"]}


def test_pagination_and_filters_carry_their_types_and_bounds(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/generated-projects/"]["get"]["parameters"]}
    assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert parameters["project"]["maximum"] == 2**63 - 1
    outbox = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/outbox/"]["get"]["parameters"]}
    assert sorted(outbox["state"]["enum"]) == ["dead", "pending", "published"]
    assert outbox["since"]["format"] == "date-time" and outbox["older_than"]["format"] == "outbox-age"


def test_links_lead_from_a_project_to_a_generated_project(schema):
    links = schema["paths"]["/api/v1/projects/"]["post"]["responses"]["201"]["links"]
    assert links["StartGeneration"] == {
        "operationId": "v1_generated_projects_create",
        "requestBody": {"project": "$response.body#/id"},
    }


@pytest.mark.parametrize("query", ["page_size=0.5", "page_size=null", "page=", "page=0", "page=1&page=2"])
def test_page_parameters_outside_the_schema_are_400(api, query):
    response = api.get(f"/api/v1/generated-projects/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.content


def test_patch_with_an_empty_body_is_refused_as_documented(api, generated_project):
    response = api.patch(f"/api/v1/generated-projects/{generated_project.pk}/", {}, format="json")
    assert response.status_code == 400 and "status" in response.json()["fields"]


def test_the_schemas_whitespace_is_exactly_what_str_strip_removes():
    import re

    from codegen_api.patterns import SAYS_SOMETHING_PATTERN, WHITESPACE_CLASS

    spelled = re.compile(f"[{WHITESPACE_CLASS}]")
    assert all(bool(spelled.fullmatch(chr(code))) == chr(code).isspace() for code in range(0x110000))
    assert not re.search(SAYS_SOMETHING_PATTERN, " \u3000\x1c") and re.search(SAYS_SOMETHING_PATTERN, " x ")
