"""The notifier's own tables: the inbox (one row per event ever seen), notifications, deliveries.

An event's inbox row, its notification rows and its delivery rows are written in one
transaction, so a redelivered event finds its inbox row and adds nothing.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class InboxStatus(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    WEBHOOK = "webhook"


def _choices(values: type[StrEnum]) -> list[tuple[str, str]]:
    return [(v.value, v.value) for v in values]


class InboxEvent(models.Model):
    """An event the notifier has taken in; its event id is unique, which makes consuming idempotent."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=_choices(InboxStatus))

    class Meta:
        db_table = "notifier_inbox"
        indexes = [models.Index(fields=["received_at"], name="inbox_received_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Notification(models.Model):
    """An in-app notification for one recipient."""

    event = models.ForeignKey(InboxEvent, on_delete=models.CASCADE, related_name="notifications")
    event_type = models.CharField(max_length=100)
    project_id = models.PositiveBigIntegerField()
    recipient = models.CharField(max_length=255)
    channel = models.CharField(max_length=16, choices=_choices(Channel), default=Channel.IN_APP.value)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifier_notification"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient", "channel"], name="notification_once_per_event"),
        ]
        indexes = [models.Index(fields=["project_id", "created_at"], name="notification_project_idx")]

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One external send (an e-mail or a webhook) of one event; attempted after its transaction commits."""

    event = models.ForeignKey(InboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=_choices(Channel))
    target = models.CharField(max_length=2048)
    subject = models.CharField(max_length=255, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=16, choices=_choices(DeliveryStatus), default=DeliveryStatus.PENDING.value)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    #: While a worker is sending, others leave the delivery alone until this time passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifier_delivery"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "target"], name="delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "channel"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"


class PoisonMessage(models.Model):
    """A message that could not be decoded or kept failing; Dramatiq dead-lettered it."""

    message_id = models.CharField(max_length=100, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField()
    body = models.TextField()
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    dead_lettered = models.BooleanField(default=False)

    class Meta:
        db_table = "notifier_poison_message"

    def __str__(self) -> str:
        return f"{self.message_id}: {self.last_error[:60]}"
