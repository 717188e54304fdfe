"""Serializer behaviour both APIs share."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from codegen_api.filters import date_time_parse
from codegen_api.patterns import SAYS_SOMETHING_PATTERN

_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class ClosedMixin:
    """Takes exactly what its schema says: refuses keys the serializer would silently drop (unknown names
    and read-only fields), so that a mistyped field is an error (the schema says ``additionalProperties:
    false``, codegen_api.schema); a text field takes only a JSON string (DRF would turn 12 into "12"),
    and keeps it as sent (DRF would trim it, so that "  " passed for a non-blank name and 201
    characters with a trailing space for a 200-character field)."""

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()  # type: ignore[misc]
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            fields = self.fields  # type: ignore[attr-defined]
            for key in data:
                field = fields.get(key)
                if field is None:
                    errors[key] = ["Unknown field."]
                elif field.read_only:
                    errors[key] = ["This field is read-only."]
                elif (
                    isinstance(field, serializers.CharField)
                    and not isinstance(data[key], str)
                    and not (data[key] is None and field.allow_null)
                ):
                    errors[key] = [f"Must be a string, not {type(data[key]).__name__}."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number: no booleans, no strings, no fractions."""

    default_error_messages = {"type": "Must be a JSON integer, not {kind}."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            kind = "a fraction" if isinstance(data, float) else type(data).__name__
            if isinstance(data, bool):
                kind = "a boolean"
            self.fail("type", kind=kind)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: not 0, 1, "true" or "yes", which DRF would take."""

    default_error_messages = {"type": "Must be a JSON boolean, not {kind}."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("type", kind=type(data).__name__)
        return data


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a JSON string in its canonical hyphenated form: not an integer (DRF would take ``false``
    as UUID 0), nor the hex, URN or braced spellings ``format: uuid`` does not allow."""

    default_error_messages = {"canonical": "Must be a UUID string such as 0b7e2a8c-3d4f-4e5a-9b6c-1d2e3f4a5b6c."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not _CANONICAL_UUID.fullmatch(data):
            self.fail("canonical")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """An integer query parameter: ASCII digits only (DRF would take ``1.0``, `` 7`` or ``+7``)."""

    default_error_messages = {"digits": "Must be a whole number written in digits."}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isascii() or not data.isdigit() or len(data) > 18:
            self.fail("digits")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": SAYS_SOMETHING_PATTERN, "minLength": 1, "maxLength": 2000})
class ReasonField(serializers.CharField):
    """Why an operator acts, for the audit: some text that is not only whitespace."""

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if not value.strip():
            raise serializers.ValidationError("Must say why: not only whitespace.")
        return value


@extend_schema_field({"type": "string", "format": "date-time"})
class DateTimeRfc3339Field(serializers.Field):
    """An RFC 3339 date-time in a body, as an aware datetime in UTC (codegen_api.filters.date_time_parse)."""

    def to_internal_value(self, data: object) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, not {type(data).__name__}.")
        try:
            return date_time_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Any) -> str:
        return str(value.isoformat())
