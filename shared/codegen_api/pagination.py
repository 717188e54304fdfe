"""Page-number pagination that refuses what its schema does not allow, instead of guessing."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from codegen_api.filters import query_params_once

#: The largest page number accepted; a higher one is a 400, one past the last page a 404.
MAX_PAGE = 2**31 - 1

_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def _query_int(request: Request, name: str, *, default: int, maximum: int) -> int:
    """The query parameter ``name`` as a whole number from 1 to ``maximum``; absent is ``default``."""
    query_params_once(request, [name])
    value = request.query_params.get(name)
    if value is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(value) or not 1 <= int(value) <= maximum:
        raise ValidationError({name: [f"Must be a whole number from 1 to {maximum}."]})
    return int(value)


class StrictPageNumberPagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` as documented: whole numbers from 1 (``page_size`` up to
    ``API_MAX_PAGE_SIZE``), each given once; anything else is a 400 naming the parameter. A page past
    the last one is a 404."""

    page_size_query_param = "page_size"
    last_page_strings = ()

    def __init__(self) -> None:
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        return _query_int(request, "page_size", default=self.page_size, maximum=self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return _query_int(request, "page", default=1, maximum=MAX_PAGE)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        page, page_size = super().get_schema_operation_parameters(view)
        page["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
        page["description"] = "A page number; one past the last page is a 404."
        page_size["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        page_size["description"] = f"Results per page (default {self.page_size})."
        return [page, page_size]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        shaped = super().get_paginated_response_schema(schema)
        shaped["required"] = ["count", "next", "previous", "results"]
        shaped["properties"]["count"]["minimum"] = 0
        return shaped
