"""The channels deliveries go out on, registered in one place: a new channel is one module and one line here.

A channel is a function that makes one attempt at one delivery and says how it went
(``SendResult``); it never raises for the receiver's sake. Planning which deliveries an event gets
is ``notifications.plans``; scheduling, claiming and recording are the same for every channel.
"""

from __future__ import annotations

from collections.abc import Callable

from notifications.delivery.channels.email import email_send
from notifications.delivery.channels.webhook import webhook_send
from notifications.delivery.outcomes import SendResult
from notifications.models import Channel, Delivery

#: Each external channel's sender (in-app notifications are written by intake and need none).
SENDERS: dict[str, Callable[[Delivery], SendResult]] = {
    Channel.EMAIL.value: email_send,
    Channel.WEBHOOK.value: webhook_send,
}
