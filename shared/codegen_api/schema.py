"""The OpenAPI schema's error responses and links, added the same way to both APIs (drf-spectacular
postprocessing hooks), so that every operation documents every status it can answer with."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from codegen_api.patterns import TEXT_PATTERN
from codegen_api.serializers import ClosedMixin

#: The JSON error every 4xx carries (codegen_api.errors).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "description": "Stable machine-readable reason, one per status."},
        "detail": {"type": "string", "description": "Human-readable reason; names the first bad field."},
        "fields": {
            "type": "object",
            "description": "Every bad field (``files[2].path``, ``body`` for the whole body) and its reasons.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "from_status": {"type": "string", "description": "invalid_transition: the current status."},
        "to_status": {"type": "string", "description": "invalid_transition: the refused status."},
    },
}

_ERROR_REF = {"$ref": "#/components/schemas/Error"}

#: What each error status means, in every operation that can answer with it.
DESCRIPTIONS = {
    400: "Invalid input: `code` is `invalid` (with `fields`), `parse_error` or `bad_request`.",
    401: "No valid credentials (`not_authenticated`).",
    403: "Authenticated but not allowed (`permission_denied`).",
    404: "No such object visible to this account, or a page past the last (`not_found`).",
    409: "Refused by the object's state (`invalid_transition` or `conflict`).",
    413: "Body over the size limit (`request_too_large`).",
    415: "Body not sent as `application/json` (`unsupported_media_type`).",
}

#: A 409 for views to declare where the domain can refuse (``responses={409: CONFLICT}``).
CONFLICT = OpenApiResponse(description=DESCRIPTIONS[409])
#: A 404 for views whose body names another object (codegen_api.errors.ReferenceNotFound).
REFERENCE_NOT_FOUND = OpenApiResponse(
    description="The body names an object this account cannot see (`not_found`, with `fields`)."
)


class ClosedBodiesAutoSchema(AutoSchema):
    """drf-spectacular's schema, where the request bodies of closed serializers (ClosedMixin) say that
    they take no other keys (``additionalProperties: false``), and free text says it takes no NUL."""

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, ClosedMixin):
            schema["additionalProperties"] = False
            for prop in schema.get("properties", {}).values():
                for variant in prop.get("oneOf", [prop]):
                    free_text = variant.get("type") == "string" and not {"format", "pattern", "enum"} & set(variant)
                    if free_text and variant.get("maxLength") != 0:
                        variant["pattern"] = TEXT_PATTERN
        return schema


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses any operation of this shape can answer with."""
    parameters = operation.get("parameters", [])
    statuses = {401, 403}
    if operation.get("requestBody") or any(p.get("in") == "query" for p in parameters):
        statuses.add(400)
    if "{" in path or any(p.get("name") == "page" for p in parameters):
        statuses.add(404)
    if operation.get("requestBody"):
        statuses |= {413, 415}
    return statuses


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the ``Error`` component, and on every operation each error status it can
    return (plus any a view declared, such as a 409), each with the ``Error`` body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if str(code).isdigit() and int(code) >= 400}
            for status in sorted(_statuses(path, method, operation) | declared):
                response = responses.setdefault(str(status), {})
                response.setdefault("description", DESCRIPTIONS.get(status, "Error."))
                if not response["description"]:
                    response["description"] = DESCRIPTIONS.get(status, "Error.")
                response["content"] = {"application/json": {"schema": _ERROR_REF}}
    return result


def add_link(
    result: dict[str, Any],
    *,
    path: str,
    method: str,
    status: str,
    name: str,
    operation_id: str,
    parameters: dict[str, str] | None = None,
    request_body: dict[str, Any] | None = None,
) -> None:
    """An OpenAPI link from one response to the operation ``operation_id`` (for clients, docs and the
    stateful phase of schemathesis); raises KeyError when the response is not in the schema."""
    response = result["paths"][path][method]["responses"][status]
    link: dict[str, Any] = {"operationId": operation_id}
    if parameters:
        link["parameters"] = parameters
    if request_body is not None:
        link["requestBody"] = request_body
    response.setdefault("links", {})[name] = link
