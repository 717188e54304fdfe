"""What one attempt came to, as a channel reports it, and what that means for the delivery."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    #: The receiver took it: the delivery is done.
    DELIVERED = "delivered"
    #: Worth another attempt on the schedule (no answer, a timeout, 5xx, 429, most 4xx).
    RETRY = "retry"
    #: Another attempt would fare no better: the delivery fails now (an unsafe target, a redirect).
    FINAL = "final"
    #: The receiver says it is gone (410): the delivery fails and its endpoint is disabled.
    GONE = "gone"


@dataclass(frozen=True)
class SendResult:
    """One attempt's outcome: the verdict, the receiver's status and the start of its answer, or the error."""

    verdict: Verdict
    status_code: int | None = None
    error: str = ""
    response_body: str = ""
    #: Seconds the receiver asked to wait (Retry-After on 429/503), already capped; None otherwise.
    retry_after: float | None = None
