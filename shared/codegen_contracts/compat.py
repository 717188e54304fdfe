"""The catalogue as JSON Schema, and the rules a change to a released schema must keep.

``catalogue_schemas`` exports one schema per event type and version (its payload) and one for
the envelope, generated from the msgspec types. ``schema_breaches`` compares a released schema
with its new form under the rules of docs/events.md: within one version a change may only add
optional fields. Removing, retyping (any change to a field's schema) or requiring a field is
refused, and a released type or version may not disappear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from codegen_contracts.envelope import Envelope
from codegen_contracts.events import EVENT_VERSIONS

#: File name of the envelope's schema.
ENVELOPE_SCHEMA = "envelope.json"


def schema_file_name(event_type: str, version: int) -> str:
    """The file name of one type and version's payload schema, e.g. ``generation.completed.v1.json``."""
    return f"{event_type}.v{version}.json"


def catalogue_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of the catalogue by file name: the envelope, and each type and version's payload."""
    schemas = {ENVELOPE_SCHEMA: {"$comment": "The envelope every event travels in.", **msgspec.json.schema(Envelope)}}
    for (event_type, version), spec in sorted(EVENT_VERSIONS.items()):
        schemas[schema_file_name(event_type, version)] = {
            "$comment": f"Payload of {event_type} version {version} (aggregate {spec.aggregate_type}).",
            **msgspec.json.schema(spec.payload_type),
        }
    return schemas


def schema_text(schema: dict[str, Any]) -> str:
    """The committed form of a schema: indented JSON with sorted keys and a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Breach:
    """A change the rules refuse: in which schema, which field, which rule."""

    schema: str
    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.schema}: field {self.field!r}: {self.rule}"


def _resolved(schema: dict[str, Any], node: Any) -> Any:
    """``node`` with every local ``$ref`` replaced by its definition."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _resolved(schema, schema["$defs"][ref.removeprefix("#/$defs/")])
        return {key: _resolved(schema, value) for key, value in node.items() if key not in ("title", "description")}
    if isinstance(node, list):
        return [_resolved(schema, item) for item in node]
    return node


def _object(schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    root = _resolved(schema, schema)
    return root.get("properties", {}), set(root.get("required", []))


def schema_breaches(name: str, released: dict[str, Any], new: dict[str, Any]) -> list[Breach]:
    """What refuses ``new`` as a compatible form of the ``released`` schema ``name``, field by field."""
    old_fields, old_required = _object(released)
    new_fields, new_required = _object(new)
    breaches = []
    for field in old_fields:
        if field not in new_fields:
            breaches.append(Breach(name, field, "removed (removing or renaming a field needs a new version)"))
        elif new_fields[field] != old_fields[field]:
            breaches.append(Breach(name, field, "retyped (changing a field's type or constraints needs a new version)"))
    for field in sorted(new_required - old_required):
        if field in old_fields:
            breaches.append(Breach(name, field, "made required (needs a new version)"))
        elif field in new_fields:
            breaches.append(Breach(name, field, "added as required (a new field must be optional, with a default)"))
    return breaches


def catalogue_breaches(released: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Breach]:
    """Every breach between a released catalogue and a new one (both by file name)."""
    breaches = []
    for name, schema in sorted(released.items()):
        if name not in new:
            breaches.append(
                Breach(name, "*", "removed (a released type or version stays listed; names are never reused)")
            )
            continue
        breaches += schema_breaches(name, schema, new[name])
    return breaches
