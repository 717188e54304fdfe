"""The Django REST framework and drf-spectacular settings both APIs share; each service adds its own.

Plain dictionaries of dotted paths, so that settings modules import nothing of DRF.
"""

from __future__ import annotations

from typing import Any


def rest_framework(**overrides: Any) -> dict[str, Any]:
    """REST_FRAMEWORK: token and session auth, authenticated by default, JSON only (bodies parsed strictly,
    up to the service's API_MAX_BODY_BYTES), the shared strict pagination, filters, schema and errors
    (codegen_api); ``overrides`` replace keys."""
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["codegen_api.parsers.StrictJSONParser"],
        "DEFAULT_PAGINATION_CLASS": "codegen_api.pagination.StrictPageNumberPagination",
        "DEFAULT_FILTER_BACKENDS": ["codegen_api.filters.StrictFilterBackend"],
        "DEFAULT_SCHEMA_CLASS": "codegen_api.schema.ClosedBodiesAutoSchema",
        "EXCEPTION_HANDLER": "codegen_api.errors.api_exception_handler",
        **overrides,
    }


def spectacular(*, title: str, description: str, hooks: list[str], **extra: Any) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS: Swagger UI from the sidecar package, request bodies as their own components
    (without read-only fields, closed where the API refuses unknown keys), the shared error responses,
    then the service's postprocessing ``hooks``; ``extra`` adds keys."""
    return {
        "TITLE": title,
        "DESCRIPTION": description,
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "codegen_api.schema.document_errors",
            *hooks,
        ],
        **extra,
    }
