"""W3C Trace Context: the ``traceparent`` value an envelope may carry (https://www.w3.org/TR/trace-context/)."""

from __future__ import annotations

import re

#: A ``traceparent`` of the layout version 00 defines: version, trace id, parent id and flags, in hex.
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_LAYOUT = re.compile(TRACEPARENT_PATTERN)
#: Length of a version-00 ``traceparent``; later versions may append fields after a dash.
_LENGTH = 55


def traceparent_parse(value: str | None) -> str | None:
    """Return ``value`` as a valid ``traceparent`` (its version-00 part), or None when it is not one.

    Follows the specification's rules: version ``ff`` and all-zero trace or parent ids are invalid;
    version 00 is exactly 55 characters; a higher version is read by its first 55 characters when
    what follows starts with a dash.
    """
    if not value:
        return None
    value = value.strip()
    head = value[:_LENGTH]
    if not _LAYOUT.match(head):
        return None
    version, trace_id, parent_id, _flags = head.split("-")
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    rest = value[_LENGTH:]
    if (version == "00" and rest) or (rest and not rest.startswith("-")):
        return None
    return head
