"""The projects API's domain errors in the shared JSON error shape (codegen_api.errors)."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from codegen_api.errors import api_exception_handler as shared_exception_handler
from codegen_api.errors import error_body
from outbox.errors import EventedBulkWriteRefused
from projects.errors import DuplicateFilePath, InvalidFilePath, InvalidTransition, NotWritable


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: domain errors get their status, every error the same shape."""
    if isinstance(exc, InvalidTransition):
        return Response(
            error_body("invalid_transition", str(exc), from_status=exc.from_status, to_status=exc.to_status),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, NotWritable | EventedBulkWriteRefused):
        return Response(error_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DuplicateFilePath):
        request = context.get("request")
        many = request is not None and isinstance(request.data, list)
        where = f"[{exc.index}].path" if many and exc.index is not None else "path"
        body = error_body("conflict", f"{where}: {exc}", fields={where: [str(exc)]})
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, InvalidFilePath):
        exc = ValidationError({"path": [str(exc)]})
    return shared_exception_handler(exc, context)
