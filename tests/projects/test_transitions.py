"""Guarantee 2 (pure part): the status machines, declared once, allow exactly the specified moves."""

from __future__ import annotations

import itertools

import pytest

from projects.errors import InvalidTransition
from projects.transitions import EXPORT_MACHINE, GENERATION_MACHINE, ExportStatus, GenerationStatus

GENERATION_ALLOWED = {
    ("pending", "generating"),
    ("generating", "completed"),
    ("generating", "failed"),
    ("completed", "archived"),
}
EXPORT_ALLOWED = {
    ("pending", "running"),
    ("pending", "failed"),
    ("running", "completed"),
    ("running", "failed"),
}


@pytest.mark.parametrize(
    ("from_status", "to_status"), list(itertools.product([s.value for s in GenerationStatus], repeat=2))
)
def test_generation_machine_allows_only_the_specified_moves(from_status, to_status):
    if (from_status, to_status) in GENERATION_ALLOWED:
        GENERATION_MACHINE.check(from_status, to_status)
    else:
        with pytest.raises(InvalidTransition) as excinfo:
            GENERATION_MACHINE.check(from_status, to_status)
        assert isinstance(excinfo.value, ValueError)
        assert from_status in str(excinfo.value) and to_status in str(excinfo.value)


@pytest.mark.parametrize(
    ("from_status", "to_status"), list(itertools.product([s.value for s in ExportStatus], repeat=2))
)
def test_export_machine_allows_only_the_specified_moves(from_status, to_status):
    if (from_status, to_status) in EXPORT_ALLOWED:
        EXPORT_MACHINE.check(from_status, to_status)
    else:
        with pytest.raises(InvalidTransition):
            EXPORT_MACHINE.check(from_status, to_status)


@pytest.mark.parametrize("status", ["generating", "completed", "failed", "archived"])
def test_creation_only_in_the_initial_status(status):
    GENERATION_MACHINE.check(None, "pending")
    with pytest.raises(InvalidTransition, match="created"):
        GENERATION_MACHINE.check(None, status)


def test_final_statuses_have_no_way_out():
    assert GENERATION_MACHINE.allowed("failed") == frozenset()
    assert GENERATION_MACHINE.allowed("archived") == frozenset()
    assert EXPORT_MACHINE.allowed("completed") == frozenset()
