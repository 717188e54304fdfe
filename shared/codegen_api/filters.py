"""Query-string filters both APIs use: each refuses, with a 400 naming it, what its schema refuses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
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


#: An RFC 3339 date-time, as JSON Schema's ``format: date-time`` takes it (a date, ``T``, a time with
#: seconds, and ``Z`` or an offset).
RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def date_time_parse(value: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime in UTC; ValueError saying why otherwise (not that shape,
    or out of range: a 30th of February, an offset of 24 hours or more, a UTC time before year 1 or after
    9999). In UTC because PostgreSQL refuses offsets beyond 15:59 that RFC 3339 allows."""
    if not RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-11-26T07:00:00Z")
    parsed = parse_datetime(value.upper())
    if parsed is None:
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-11-26T07:00:00Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once in UTC (before year 1 or after 9999)") from None


class DateTimeField(forms.Field):
    """A form field for an RFC 3339 date-time (date_time_parse)."""

    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        try:
            return date_time_parse(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@extend_schema_field({"type": "string", "format": "date-time"})
class DateTimeFilter(django_filters.Filter):
    """A date-time filter that takes RFC 3339 only (django-filter's would take ``2026-01-01 10:00``)."""

    field_class = DateTimeField
