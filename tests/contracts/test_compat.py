"""Guarantee 7: the compatibility check refuses every breaking change to a released schema, naming the field."""

from __future__ import annotations

from typing import Annotated

import msgspec

from codegen_contracts.compat import catalogue_breaches, catalogue_schemas, schema_breaches
from codegen_contracts.events import EVENT_VERSIONS
from devinfra.contracts_check import check


class Released(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    project_id: Annotated[int, msgspec.Meta(ge=1)]
    project_name: str
    note: str | None = None


def breaches_of(new: type[msgspec.Struct]) -> list[str]:
    return [str(b) for b in schema_breaches("x.v1.json", msgspec.json.schema(Released), msgspec.json.schema(new))]


def test_a_removed_field_is_refused_by_name():
    class New(msgspec.Struct, kw_only=True):
        project_id: Annotated[int, msgspec.Meta(ge=1)]
        note: str | None = None

    assert breaches_of(New) == [
        "x.v1.json: field 'project_name': removed (removing or renaming a field needs a new version)"
    ]


def test_a_retyped_field_is_refused_by_name():
    class New(msgspec.Struct, kw_only=True):
        project_id: str
        project_name: str
        note: str | None = None

    assert breaches_of(New) == [
        "x.v1.json: field 'project_id': retyped (changing a field's type or constraints needs a new version)"
    ]


def test_a_new_required_field_is_refused_by_name():
    class New(msgspec.Struct, kw_only=True):
        project_id: Annotated[int, msgspec.Meta(ge=1)]
        project_name: str
        note: str | None = None
        owner_id: int

    assert breaches_of(New) == [
        "x.v1.json: field 'owner_id': added as required (a new field must be optional, with a default)"
    ]


def test_an_optional_field_made_required_is_refused():
    class New(msgspec.Struct, kw_only=True):
        project_id: Annotated[int, msgspec.Meta(ge=1)]
        project_name: str
        note: str | None

    assert any("'note': " in breach and "required" in breach for breach in breaches_of(New))


def test_a_new_optional_field_is_accepted():
    class New(msgspec.Struct, kw_only=True):
        project_id: Annotated[int, msgspec.Meta(ge=1)]
        project_name: str
        note: str | None = None
        owner_id: int | None = None

    assert breaches_of(New) == []


def test_a_released_type_or_version_that_disappears_is_refused():
    released = catalogue_schemas()
    new = {name: schema for name, schema in released.items() if name != "export.failed.v1.json"}
    assert [str(b) for b in catalogue_breaches(released, new)] == [
        "export.failed.v1.json: field '*': removed (a released type or version stays listed; names are never reused)"
    ]


def test_there_is_one_schema_per_type_and_version_and_one_for_the_envelope():
    assert set(catalogue_schemas()) == {"envelope.json"} | {f"{t}.v{v}.json" for t, v in EVENT_VERSIONS}


def test_the_committed_schemas_match_the_code_and_every_released_form():
    assert check() == 0
