"""The text patterns both APIs' schemas state and their serializers enforce."""

from __future__ import annotations

#: Text in a request body: anything but NUL (DRF refuses it, and PostgreSQL could not store it).
TEXT_PATTERN = "^[^\\u0000]*$"

#: The characters Python's str.strip() removes (str.isspace()), spelled out so that every regular-expression
#: engine reading the schema agrees (``\\s`` differs between them); a test holds it to str.isspace().
WHITESPACE_CLASS = (
    "\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
#: Text that says something: at least one character that is not whitespace, and no NUL.
SAYS_SOMETHING_PATTERN = f"^[^\\u0000]*[^\\u0000{WHITESPACE_CLASS}][^\\u0000]*$"
