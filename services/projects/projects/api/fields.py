"""Serializer fields stricter than DRF's defaults."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


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


class StrictFieldsMixin:
    """Refuses keys the serializer would silently drop: read-only fields and unknown names."""

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
