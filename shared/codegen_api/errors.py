"""One JSON error shape for both APIs: ``{"code", "detail", "fields"?}``, whatever raised it and in every
settings module."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

#: The one ``code`` of each status, for every error that is not a validation error (``invalid``), a JSON
#: parse error (``parse_error``) or a service's domain conflict (``invalid_transition``, ``conflict``).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


class ReferenceNotFound(NotFound):
    """A body names an object this account cannot see (none, or someone else's): a 404 naming the field,
    as a GET of that object would answer."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The error object: a stable ``code``, a human ``detail`` and any ``extra`` members."""
    return {"code": code, "detail": detail, **extra}


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as ``{"files[2].path": ["reason"]}``; ``body`` for the whole body."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):  # a ListSerializer reports items by index
                flat.update(flatten_errors(value, f"{prefix}[{key}]"))
                continue
            name = "body" if key == "non_field_errors" else key
            flat.update(flatten_errors(value, f"{prefix}.{name}" if prefix else str(name)))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix or "body"] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "body"] = [str(errors)]
    return flat


def validation_error_response(errors: Any, status: int = 400) -> Response:
    """A 400 ``invalid`` naming every field and its reasons; ``detail`` carries the first of them."""
    fields = flatten_errors(errors)
    first = next(iter(fields.items()), ("body", ["Invalid input."]))
    return Response(error_body("invalid", f"{first[0]}: {first[1][0]}", fields=fields), status=status)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error DRF knows in the one shape, with its status's code."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        shaped = validation_error_response(response.data, response.status_code)
        response.data = shaped.data
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    if isinstance(exc, ReferenceNotFound):
        response.data = error_body(STATUS_CODES[404], f"{exc.field}: {detail}", fields={exc.field: [str(detail)]})
        return response
    code = "parse_error" if isinstance(exc, ParseError) else STATUS_CODES.get(response.status_code, "error")
    response.data = error_body(code, str(detail))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler404: JSON for any unknown URL."""
    return JsonResponse(error_body(STATUS_CODES[404], "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """handler500: JSON even when something unexpected broke."""
    return JsonResponse(error_body(STATUS_CODES[500], "Internal server error."), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler400: JSON for Django-level bad requests (a body over the upload limit is a 413)."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body(STATUS_CODES[413], "Request body too large."), status=413)
    detail = str(exception) if exception else "Bad request."
    return JsonResponse(error_body(STATUS_CODES[400], detail), status=400)


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
            shaped = JsonResponse(error_body(code, detail), status=response.status_code)
            if response.has_header("Allow"):
                shaped["Allow"] = response["Allow"]
            return shaped
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if request.path.startswith("/api/") and isinstance(exception, RequestDataTooBig):
            return json_bad_request(request, exception)
        return None
