"""How the catalogue spells its names: event types (``generation.completed``) and aggregate types
(``generated_project``)."""

from __future__ import annotations

import re

#: Lower-case words of letters, digits and underscores, joined by dots.
NAME_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"

_NAME = re.compile(NAME_PATTERN)


def is_catalogue_name(value: str) -> bool:
    """Whether ``value`` is spelled as an event or aggregate type is (at most 100 characters)."""
    return len(value) <= 100 and _NAME.fullmatch(value) is not None
