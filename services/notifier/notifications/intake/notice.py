"""What a handler decides for one event: who is told what, in the app and on which channels."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Notice:
    """What to tell the project's people about one event, and where to send it beyond the app."""

    project_id: int
    recipient: str
    subject: str
    body: str
    #: The external channels' targets, by channel name (``notifications.delivery.channels``).
    targets: dict[str, list[str]] = field(default_factory=dict)
