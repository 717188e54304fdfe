"""Upcasting: an older version's payload brought to the current version, one step per version.

A consumer handles every version it knows by upcasting it to the current one here, in one place,
so that handlers are written against the current payload only. A step is registered for each
(event type, version) below the current one; each step is a pure function with its own test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codegen_contracts.errors import InvalidPayload
from codegen_contracts.events import EVENT_TYPES, EVENT_VERSIONS

#: A payload of one version (plain data) → the payload of the next version.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

#: One step per (event type, version it reads): it returns the payload of ``version + 1``.
#: Empty while every type is at version 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def payload_upcast(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Bring ``payload`` of ``version`` of ``event_type`` to its current version, step by step.

    Raises InvalidPayload when a step is missing (a catalogue error the contracts' tests catch).
    """
    current = EVENT_TYPES[event_type].version
    while version < current:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise InvalidPayload(f"{event_type}: no upcaster from version {version} to {version + 1}")
        payload = step(payload)
        version += 1
    return payload


def catalogue_gaps() -> list[str]:
    """Versions below the current one of each type that have no catalogued schema or no upcaster."""
    gaps = []
    for event_type, spec in EVENT_TYPES.items():
        for version in range(1, spec.version):
            if (event_type, version) not in EVENT_VERSIONS:
                gaps.append(f"{event_type} v{version}: no schema")
            if (event_type, version) not in UPCASTERS:
                gaps.append(f"{event_type} v{version}: no upcaster to v{version + 1}")
    return gaps
