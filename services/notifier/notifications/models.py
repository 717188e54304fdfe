"""The notifier's own tables: the inbox (one row per event ever seen), notifications, deliveries.

An event's inbox row, its notification rows and its delivery rows are written in one
transaction, so a redelivered event finds its inbox row and adds nothing.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class InboxStatus(StrEnum):
    #: Taken in: its notification and deliveries were written with it.
    PROCESSED = "processed"
    #: A known type with no handler: nothing to notify.
    IGNORED = "ignored"
    #: A schema version newer than this notifier knows: kept, raw, until ``inbox_resume`` takes it in.
    PARKED = "parked"
    #: A type this notifier does not know: recorded, raw, for operators (and ``inbox_resume``).
    UNKNOWN = "unknown"
    #: Arrived ahead of an earlier sequence of its aggregate: taken in when that one arrives, or
    #: after NOTIFIER_ORDER_WAIT (the missing ones recorded as a gap).
    WAITING = "waiting"


#: Inbox statuses of events kept without effect until the notifier can take them in.
HELD_STATUSES = (InboxStatus.PARKED.value, InboxStatus.UNKNOWN.value)


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
    """An event the notifier has received; its event id is unique, which makes consuming idempotent.

    ``raw`` is the message's envelope exactly as received (fields this notifier does not know
    included), ``schema_version`` the version it came in; ``reason`` says why a held event is held.
    """

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=200)
    schema_version = models.PositiveIntegerField("version", default=1)
    aggregate_type = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    correlation_id = models.TextField(null=True, blank=True)
    traceparent = models.CharField(max_length=55, null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=_choices(InboxStatus))
    reason = models.TextField(blank=True, default="")
    raw = models.JSONField(default=dict)
    #: Taken in after a later sequence of its aggregate (it filled a gap, or was re-issued).
    late = models.BooleanField(default=False)
    #: A waiting event's effects as planned when it arrived (``IntakePlan.effects``), so that the arrival
    #: that releases it writes them without reading the event again; None once it took effect.
    effects = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "notifier_inbox"
        indexes = [
            models.Index(fields=["received_at"], name="inbox_received_idx"),
            models.Index(fields=["status", "id"], condition=Q(status__in=HELD_STATUSES), name="inbox_held_idx"),
            models.Index(
                fields=["aggregate_type", "aggregate_id", "sequence"],
                condition=Q(status="waiting"),
                name="inbox_waiting_idx",
            ),
        ]

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
        indexes = [
            models.Index(fields=["project_id", "created_at"], name="notification_project_idx"),
            # the few notices of key rotations, read before each webhook is signed (delivery.signing)
            models.Index(
                fields=["project_id"],
                condition=Q(event_type="project.webhook_secret_rotated"),
                name="notification_key_rotation_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class Delivery(models.Model):
    """One external send (an e-mail or a webhook) of one event, made by the delivery workers
    (``notifications.delivery``) after its transaction commits: at ``next_attempt_at``, again on the
    retry schedule until it is delivered, fails for good or its endpoint is disabled."""

    event = models.ForeignKey(InboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=_choices(Channel))
    target = models.CharField(max_length=2048)
    subject = models.CharField(max_length=255, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=16, choices=_choices(DeliveryStatus), default=DeliveryStatus.PENDING.value)
    #: Attempts on the current schedule (a recovery starts a new one at 0).
    attempts = models.PositiveIntegerField(default=0)
    #: Attempts ever made, lost ones included: the number of the latest in its record (``DeliveryAttempt``).
    attempts_made = models.PositiveIntegerField(db_default=0)
    last_error = models.TextField(blank=True, default="")
    #: While a worker is sending, others leave the delivery alone until this time passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    #: When the next attempt is due (pending deliveries only).
    next_attempt_at = models.DateTimeField(db_default=Now())
    #: The webhook endpoint it goes to, set when intake writes it (webhooks only).
    endpoint = models.ForeignKey(
        "notifications.WebhookEndpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifier_delivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "target"], name="delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "channel"], name="delivery_status_idx"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due_idx"),
            models.Index(fields=["endpoint", "status"], name="delivery_endpoint_idx"),
            # what the claims count (sends in flight): small
            models.Index(
                fields=["endpoint"],
                condition=Q(status="pending", claimed_until__isnull=False),
                name="delivery_in_flight_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"


class PoisonMessage(models.Model):
    """A message that could not be decoded or kept failing; Dramatiq dead-lettered it.

    ``body`` is the message's argument as received, which ``poison replay`` takes in again after a
    fix; ``resolved_at`` is set when a replay took it in.
    """

    message_id = models.CharField(max_length=100, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField()
    body = models.TextField()
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    dead_lettered = models.BooleanField(default=False)
    replays = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifier_poison_message"

    def __str__(self) -> str:
        return f"{self.message_id}: {self.last_error[:60]}"


class Redrive(models.Model):
    """An operator's replay of poison or held messages: who, when, why, what was selected, what came of it."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    #: Where it was asked: cli, rest or admin.
    source = models.CharField(max_length=8, default="cli")
    reason = models.TextField()
    selection = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    matched = models.PositiveIntegerField(default=0)
    taken_in = models.PositiveIntegerField(default=0)
    still_held = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "notifier_redrive"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"redrive {self.pk} by {self.actor}: {self.matched} matched"


class AggregateCursor(models.Model):
    """Per aggregate: every sequence up to ``applied`` has taken effect (or was given up as a gap).

    The intake step locks the cursors of a batch's aggregates (in (type, id) order) before it decides,
    so one aggregate's events take effect one transaction after the other, in sequence order.
    """

    aggregate_type = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=200)
    applied = models.PositiveIntegerField(default=0)
    #: How many of its events wait in the inbox (an intake reads them only when there are some).
    waiting = models.PositiveIntegerField(default=0)
    #: Written by the lock statement of the release before this one, no longer read: kept while workers of
    #: both releases may run side by side during an upgrade; to be dropped in the next release.
    moved_by = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notifier_aggregate"
        constraints = [
            models.UniqueConstraint(fields=["aggregate_type", "aggregate_id"], name="aggregate_cursor_once"),
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id} at {self.applied}"


class SequenceGap(models.Model):
    """A sequence of an aggregate that had not arrived when a later one was taken in; closed when it arrives."""

    aggregate_type = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "notifier_gap"
        ordering = ["opened_at", "aggregate_type", "aggregate_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["aggregate_type", "aggregate_id", "sequence"], name="gap_once"),
        ]
        indexes = [models.Index(fields=["opened_at"], condition=Q(closed_at__isnull=True), name="gap_open_idx")]

    def __str__(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id} #{self.sequence}"


class ProjectAccess(models.Model):
    """One project whose notifications and deliveries a non-staff API account may read (granted in the
    admin; an account without any reads nothing, staff read everything)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_access")
    project_id = models.PositiveBigIntegerField()
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        db_table = "notifier_project_access"
        ordering = ["user_id", "project_id"]
        verbose_name_plural = "project access"
        constraints = [models.UniqueConstraint(fields=["user", "project_id"], name="project_access_once")]

    def __str__(self) -> str:
        return f"{self.user} reads project {self.project_id}"


from notifications.delivery.models import DeliveryAttempt, DeliveryRetry, EndpointAction, EndpointState, WebhookEndpoint  # noqa: E402

__all__ = [
    "AggregateCursor",
    "Channel",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryRetry",
    "DeliveryStatus",
    "EndpointAction",
    "EndpointState",
    "InboxEvent",
    "InboxStatus",
    "Notification",
    "PoisonMessage",
    "ProjectAccess",
    "Redrive",
    "SequenceGap",
    "WebhookEndpoint",
]  # fmt: skip
