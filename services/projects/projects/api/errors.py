"""One JSON error shape for the whole API: ``{"code", "detail", "fields"?}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from outbox.errors import EventedBulkWriteRefused
from projects.errors import DuplicateFilePath, InvalidFilePath, InvalidTransition, NotWritable


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into ``{"files[2].path": ["reason"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):  # a ListSerializer reports items by index
                flat.update(_flatten(value, f"{prefix}[{key}]"))
                continue
            name = "body" if key == "non_field_errors" else key
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix or "body"] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "body"] = [str(errors)]
    return flat


def _body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": detail, **extra}


#: The one ``code`` of each status, for every error that is not a validation error (``invalid``), a JSON
#: parse error (``parse_error``) or a domain conflict (``invalid_transition``, ``conflict``).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: domain errors get their status, every error the same shape."""
    if isinstance(exc, InvalidTransition):
        return Response(
            _body("invalid_transition", str(exc), from_status=exc.from_status, to_status=exc.to_status),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, NotWritable | EventedBulkWriteRefused):
        return Response(_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DuplicateFilePath):
        request = context.get("request")
        many = request is not None and isinstance(request.data, list)
        where = f"[{exc.index}].path" if many and exc.index is not None else "path"
        return Response(
            _body("invalid", f"{where}: {exc}", fields={where: [str(exc)]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, InvalidFilePath):
        exc = ValidationError({"path": [str(exc)]})
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        fields = _flatten(response.data)
        first = next(iter(fields.items()), ("body", ["Invalid input."]))
        response.data = _body("invalid", f"{first[0]}: {first[1][0]}", fields=fields)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = "parse_error" if isinstance(exc, ParseError) else STATUS_CODES.get(response.status_code, "error")
        response.data = _body(code, str(detail))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler404: JSON for any unknown URL."""
    return JsonResponse(_body(STATUS_CODES[404], "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """handler500: JSON even when something unexpected broke."""
    return JsonResponse(_body(STATUS_CODES[500], "Internal server error."), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler400: JSON for Django-level bad requests (a body over the upload limit is a 413)."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(_body(STATUS_CODES[413], "Request body too large."), status=413)
    return JsonResponse(_body(STATUS_CODES[400], str(exception) if exception else "Bad request."), status=400)


class ApiJsonErrorsMiddleware:
    """Under ``/api/`` every error is the API's JSON error, whatever the settings: with DEBUG on, Django
    answers an unknown URL, a body over the upload limit or a CSRF failure with an HTML page (the
    handlers above only serve DEBUG off). Those become ``{"code", "detail"}`` with the status's code."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not str(response.get("Content-Type", "")).startswith("application/json")
        ):
            try:
                detail = HTTPStatus(response.status_code).phrase + "."
            except ValueError:
                detail = "Error."
            code = STATUS_CODES.get(response.status_code, "error")
            return JsonResponse(_body(code, detail), status=response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if request.path.startswith("/api/") and isinstance(exception, RequestDataTooBig):
            return json_bad_request(request, exception)
        return None
