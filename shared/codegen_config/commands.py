"""What the management commands of both services share: exit codes a script can trust, and plurals.

Every command exits with one of ``ExitCode``; docs/operations.md has the same table.
Raise ``BadArgument``, ``NothingMatched`` or ``PartlyFailed`` (Django's ``CommandError`` with the
right code) and Django prints ``CommandError: <message>`` on one line and exits with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from django.core.management.base import CommandError


class ExitCode(IntEnum):
    """How a command ended."""

    #: It did what it was asked.
    OK = 0
    #: It did not: the work failed, or a check found problems (``outbox status``, ``inbox gaps``).
    FAILED = 1
    #: An argument is wrong (argparse's own code too); nothing was done.
    BAD_ARGUMENT = 2
    #: Nothing matched what it was asked to act on (or an id asked for does not exist); nothing was done.
    NOTHING_MATCHED = 3
    #: Some of what it acted on failed; the rest was done.
    PARTLY_FAILED = 4


class BadArgument(CommandError):  # type: ignore[misc]  # Django has no type hints here
    """An argument that cannot be used: the message names it and says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=ExitCode.BAD_ARGUMENT)


class NothingMatched(CommandError):  # type: ignore[misc]  # Django has no type hints here
    """Nothing to act on: no match for the filters, or ids that do not exist (named in the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=ExitCode.NOTHING_MATCHED)


class PartlyFailed(CommandError):  # type: ignore[misc]  # Django has no type hints here
    """Some of the work failed (the message says how much); the rest was done."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=ExitCode.PARTLY_FAILED)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun that agrees with it: ``1 row``, ``2 rows``, ``3 deliveries``."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def ids_listed(ids: Iterable[object], most: int = 10) -> str:
    """Ids for a message: the first ``most``, then how many more."""
    shown = [str(i) for i in ids]
    more = len(shown) - most
    return ", ".join(shown[:most]) + (f" and {more} more" if more > 0 else "")
