"""The delivery side's tables: webhook endpoints with their state, every attempt, operators' endpoint actions."""

from __future__ import annotations

from enum import StrEnum

from django.db import models

from codegen_config.commands import plural


class EndpointState(StrEnum):
    #: Deliveries are sent.
    ENABLED = "enabled"
    #: Nothing is sent; due deliveries ended with the reason (410 Gone, failing too long, an operator).
    DISABLED = "disabled"


class WebhookEndpoint(models.Model):
    """One project's webhook URL, with what its receiver has shown: successes, failures, the breaker, its state.

    Made when intake writes a project's first delivery to the URL. The owner's ids (``owner_id``,
    ``notification_email``) are those of the project's latest event when it was last disabled or enabled:
    whom that told.
    """

    project_id = models.PositiveBigIntegerField()
    url = models.CharField(max_length=2048)
    state = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in EndpointState], default=EndpointState.ENABLED.value
    )
    #: Why it is disabled (empty while enabled).
    state_reason = models.TextField(blank=True, default="")
    state_changed_at = models.DateTimeField(null=True, blank=True)
    #: Attempts that failed since the last success (the breaker opens at NOTIFIER_WEBHOOK_BREAKER_FAILURES).
    consecutive_failures = models.PositiveIntegerField(default=0)
    #: The first failure since the last success (disabled once it is NOTIFIER_WEBHOOK_DISABLE_AFTER old).
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    #: The last failed attempt: while the breaker is open, only a delivery that came due after it may probe.
    last_failure_at = models.DateTimeField(null=True, blank=True)
    #: Times it was disabled or enabled (the sequence of the notices about it).
    state_changes = models.PositiveIntegerField(default=0)
    owner_id = models.PositiveBigIntegerField(null=True, blank=True)
    notification_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifier_webhook_endpoint"
        ordering = ["project_id", "id"]
        constraints = [models.UniqueConstraint(fields=["project_id", "url"], name="webhook_endpoint_once")]

    def __str__(self) -> str:
        return f"project {self.project_id}: {self.url} ({self.state})"


class DeliveryAttempt(models.Model):
    """One attempt at one delivery: when, how long, what the receiver answered, and when the next is due."""

    delivery = models.ForeignKey("notifications.Delivery", on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    #: The HTTP status (webhooks) or SMTP reply code (e-mail); None when there was no answer.
    status_code = models.PositiveIntegerField(null=True, blank=True)
    #: What went wrong (empty on success).
    error = models.TextField(blank=True, default="")
    #: The start of the response body (at most RESPONSE_BODY_KEPT bytes of it, decoded leniently).
    response_body = models.TextField(blank=True, default="")
    #: When the delivery is tried again after this attempt; None when this attempt settled it.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifier_delivery_attempt"
        ordering = ["delivery_id", "number", "id"]
        indexes = [models.Index(fields=["delivery", "number"], name="delivery_attempt_idx")]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} attempt {self.number}"


class EndpointAction(models.Model):
    """An operator's or an owner's action on an endpoint (disable, enable, recover): who, when, why, what it did."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=16)
    actor = models.CharField(max_length=150)
    reason = models.TextField()
    #: For recover: deliveries that failed at or after this time are sent again.
    since = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    #: Deliveries it concerned (recover: made due again, or that would be).
    matched = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifier_endpoint_action"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} of endpoint {self.endpoint_id} by {self.actor}"

    def summary(self) -> str:
        """What it did, in a sentence (for the admin and the command)."""
        prefix = "dry run: would " if self.dry_run else ""
        ended = "would end" if self.dry_run else "ended"
        done = {
            "disable": f"{prefix}disable; {plural(self.matched, 'pending delivery', 'pending deliveries')} {ended}",
            "enable": f"{prefix}enable",
            "recover": f"{prefix}send {plural(self.matched, 'failed delivery', 'failed deliveries')} again",
        }[self.action]
        return f"{done} (action {self.pk})"


class DeliveryRetry(models.Model):
    """An operator's retry of deliveries (made due again on a fresh schedule): who, where from, when, why, what
    was selected, which deliveries matched and how many were made due. Dry runs are recorded too."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    #: Where it was asked: cli, rest or admin.
    source = models.CharField(max_length=8)
    reason = models.TextField()
    selection = models.JSONField(default=dict)
    dry_run = models.BooleanField(default=False)
    matched = models.PositiveIntegerField(default=0)
    #: Matched deliveries made due (fewer than matched when some were delivered or being sent meanwhile).
    made_due = models.PositiveIntegerField(default=0)
    delivery_ids = models.JSONField(default=list)

    class Meta:
        db_table = "notifier_delivery_retry"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "delivery retries"

    def __str__(self) -> str:
        return f"retry {self.pk} by {self.actor}: {self.matched} matched"

    def summary(self) -> str:
        """What it did, in a sentence (for the admin and the command)."""
        matched = plural(self.matched, "delivery matched", "deliveries matched")
        if self.dry_run:
            return f"dry run: {matched}, none made due (retry {self.pk})"
        return f"{matched}, {self.made_due} made due again; the delivery workers send them (retry {self.pk})"
