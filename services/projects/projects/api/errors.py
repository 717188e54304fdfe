"""One JSON error shape for the whole API: ``{"code", "detail", "fields"?}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
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
        code = getattr(exc, "default_code", "error")
        codes = exc.get_codes() if hasattr(exc, "get_codes") else code
        response.data = _body(codes if isinstance(codes, str) else code, str(detail))
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler404: JSON for any unknown URL."""
    return JsonResponse(_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """handler500: JSON even when something unexpected broke."""
    return JsonResponse(_body("server_error", "Internal server error."), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler400: JSON for Django-level bad requests (a body over the upload limit is a 413)."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(_body("request_too_large", "Request body too large."), status=413)
    return JsonResponse(_body("bad_request", str(exception) if exception else "Bad request."), status=400)
