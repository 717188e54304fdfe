"""The projects API's OpenAPI schema beyond what drf-spectacular infers: the bulk file body, and the links
between operations (what a client, the docs and schemathesis's stateful phase follow)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from codegen_api.schema import add_link
from projects.transitions import ExportStatus


def _one_or_many(ref: str) -> dict[str, Any]:
    many = {"type": "array", "items": {"$ref": ref}, "minItems": 1, "maxItems": settings.PROJECTS["MAX_BULK_FILES"]}
    return {"oneOf": [{"$ref": ref}, many]}


_ID = {"id": "$response.body#/id"}
_PROJECTS, _GENERATED = "/api/v1/projects/", "/api/v1/generated-projects/"
_FILES, _EXPORTS = "/api/v1/generated-projects/{generated_project_id}/files/", "/api/v1/exports/"
_FILE = {"generated_project_id": "$request.path.generated_project_id", "id": "$response.body#/id"}
_EXPORT = {"generated_project": "$response.body#/id", "repository_url": "https://git.example.com/repo.git"}

#: Links from each created object to what can be done with it next: (path, method, status, name,
#: operationId, parameters, requestBody).
LINKS: list[tuple[str, str, str, str, str, dict[str, str] | None, dict[str, Any] | None]] = [
    (_PROJECTS, "post", "201", "GetProject", "v1_projects_retrieve", _ID, None),
    (_PROJECTS, "post", "201", "UpdateProject", "v1_projects_partial_update", _ID, None),
    (_PROJECTS, "post", "201", "DeleteProject", "v1_projects_destroy", _ID, None),
    (_PROJECTS, "post", "201", "GetWebhookSecret", "v1_projects_webhook_secret_retrieve", _ID, None),
    (_PROJECTS, "post", "201", "RotateWebhookSecret", "v1_projects_webhook_secret_rotate_create", _ID, None),
    (_PROJECTS, "post", "201", "StartGeneration", "v1_generated_projects_create", None,
     {"project": "$response.body#/id"}),
    (_GENERATED, "post", "201", "GetGeneratedProject", "v1_generated_projects_retrieve", _ID, None),
    (_GENERATED, "post", "201", "MoveGeneratedProject", "v1_generated_projects_partial_update", _ID, None),
    (_GENERATED, "post", "201", "ListFiles", "v1_generated_projects_files_list",
     {"generated_project_id": "$response.body#/id"}, None),
    (_GENERATED, "post", "201", "AddFiles", "v1_generated_projects_files_create",
     {"generated_project_id": "$response.body#/id"}, None),
    (_GENERATED, "post", "201", "Export", "v1_exports_create", None, _EXPORT),
    (_GENERATED, "post", "201", "StartGenerating", "v1_generated_projects_partial_update", _ID,
     {"status": "generating"}),
    (_GENERATED + "{id}/", "patch", "200", "Complete", "v1_generated_projects_partial_update", _ID,
     {"status": "completed"}),
    (_GENERATED + "{id}/", "patch", "200", "ExportNow", "v1_exports_create", None, _EXPORT),
    (_FILES, "post", "201", "GetFile", "v1_generated_projects_files_retrieve", _FILE, None),
    (_FILES, "post", "201", "DeleteFile", "v1_generated_projects_files_destroy", _FILE, None),
    (_EXPORTS, "post", "201", "GetExport", "v1_exports_retrieve", _ID, None),
    (_EXPORTS, "post", "201", "MoveExport", "v1_exports_partial_update", _ID, None),
    (_EXPORTS, "post", "201", "StartExport", "v1_exports_partial_update", _ID, {"status": "running"}),
    ("/api/v1/outbox/", "get", "200", "GetFirstRow", "v1_outbox_retrieve",
     {"event_id": "$response.body#/results/0/event_id"}, None),
]  # fmt: skip


def projects_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: file creation takes and answers one file or an array of them; links."""
    create = result["paths"]["/api/v1/generated-projects/{generated_project_id}/files/"]["post"]
    for schema_owner in (
        create["requestBody"]["content"]["application/json"],
        create["responses"]["201"]["content"]["application/json"],
    ):
        schema_owner["schema"] = _one_or_many(schema_owner["schema"]["$ref"])
    # an export's error comes with failed, and only with it (OpenAPI 3.0 has no if/then)
    others = [status.value for status in ExportStatus if status != ExportStatus.FAILED]
    result["components"]["schemas"]["RepositoryExportTransitionRequest"]["oneOf"] = [
        {"required": ["status", "error"], "properties": {"status": {"enum": [ExportStatus.FAILED.value]}}},
        {"properties": {"status": {"enum": others}}, "not": {"required": ["error"]}},
    ]
    for path, method, status, name, operation_id, parameters, request_body in LINKS:
        add_link(
            result, path=path, method=method, status=status, name=name, operation_id=operation_id,
            parameters=parameters, request_body=request_body,
        )  # fmt: skip
    return result
