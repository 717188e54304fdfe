"""The channels deliveries go out on, registered in one place: a new channel is one module and one line here.

A channel says which targets an event's payload names for it (``targets``: the project's address,
its webhook URL), what a delivery carries (``body``, from the notice and the event) and how one
attempt is made (``send``, which reports a ``SendResult`` and never raises for the receiver's sake).
Intake plans a delivery per target; scheduling, claiming and recording are the same for every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notifications.delivery.channels import email, webhook
from notifications.delivery.outcomes import SendResult

if TYPE_CHECKING:
    from codegen_contracts import Envelope
    from notifications.intake.notice import Notice
    from notifications.models import Delivery


@dataclass(frozen=True)
class ChannelSpec:
    """One external channel: where an event's payload says to send, what to send, and how."""

    targets: Callable[[Any], list[str]]
    body: Callable[[Notice, Envelope, bool], str]
    send: Callable[[Delivery], SendResult]


#: The external channels by name, in the order an event's deliveries are planned (in-app notifications are
#: written by intake itself).
CHANNELS: dict[str, ChannelSpec] = {
    email.NAME: ChannelSpec(email.email_targets, email.email_body, email.email_send),
    webhook.NAME: ChannelSpec(webhook.webhook_targets, webhook.webhook_body_of, webhook.webhook_send),
}

#: Each channel's sender (tests replace one to make it fail).
SENDERS: dict[str, Callable[[Delivery], SendResult]] = {name: spec.send for name, spec in CHANNELS.items()}


def channel_targets(payload: Any) -> dict[str, list[str]]:
    """The targets ``payload`` names, by channel (a channel it names none for is left out)."""
    found = {name: spec.targets(payload) for name, spec in CHANNELS.items()}
    return {name: targets for name, targets in found.items() if targets}
