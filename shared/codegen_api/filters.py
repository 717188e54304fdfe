"""Query-string filters both APIs use: each refuses, with a 400 naming it, what its schema refuses."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from codegen_contracts.names import NAME_PATTERN

#: The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number from 1 to 2**63 - 1 (no fraction, no exponent)."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)  # type: ignore[arg-type]


@extend_schema_field({"type": "string", "pattern": NAME_PATTERN, "maxLength": 100})
class NameFilter(django_filters.CharFilter):
    """A catalogue name (an event or aggregate type): lower-case words joined by dots, at most 100."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        validators = [RegexValidator(NAME_PATTERN, "Must be lower-case words joined by dots.")]
        super().__init__(*args, max_length=100, validators=validators, **kwargs)  # type: ignore[arg-type]


def query_params_once(request: Request, names: Any) -> None:
    """Raise a 400 naming each of ``names`` given empty or more than once (a filter's value is one
    non-empty string; django-filter would ignore an empty one and use the last of several)."""
    errors: dict[str, list[str]] = {}
    for name in names:
        values = request.query_params.getlist(name)
        if len(values) > 1:
            errors[name] = ["Give it once."]
        elif values and values[0] == "":
            errors[name] = ["May not be empty."]
    if errors:
        raise ValidationError(errors)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing a filter given empty or twice instead of ignoring it."""

    def get_filterset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            query_params_once(request, filterset.filters)
        return filterset
