"""Errors of the notifier, one flat list."""

from __future__ import annotations


class NotifierError(Exception):
    """Base class of the notifier's own errors."""


class PoisonEnvelope(NotifierError):
    """The message's argument is not an envelope the contracts accept; retrying cannot help."""


class SendError(NotifierError):
    """A send that did not succeed; ``retryable`` says whether another try may."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class UnsafeTarget(NotifierError, ValueError):
    """A webhook URL that must not be contacted, with the reason."""


class NothingMatched(NotifierError):
    """An operator's action that would act on nothing: ``missing`` names the ids asked for that do not exist
    (nothing is done then), else the selection matched nothing. Nothing is recorded either way."""

    def __init__(self, message: str, *, missing: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing
