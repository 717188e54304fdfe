"""The outbox table: one row per event, written in the transaction of the change it reports."""

from __future__ import annotations

import uuid
from enum import StrEnum

from django.db import models
from django.db.models import Q


class OutboxState(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    DEAD = "dead"


#: The columns that hold an event's envelope (``codegen_contracts.wire`` names the fields they make:
#: ``created_at`` is ``occurred_at``, ``headers["correlation_id"]`` and ``headers["traceparent"]`` are
#: ``correlation_id`` and ``traceparent``).
ENVELOPE_COLUMNS = (
    "event_id",
    "event_type",
    "schema_version",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "payload",
    "headers",
    "created_at",
)


class OutboxEvent(models.Model):
    """An event waiting to be published (pending), published, or given up on (dead).

    The relay claims rows by state and due time, never by id: ids do not commit in order.
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=100)
    schema_version = models.PositiveSmallIntegerField()
    aggregate_type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField()
    payload = models.JSONField()
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    state = models.CharField(
        max_length=16, choices=[(state.value, state.value) for state in OutboxState], default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    #: For an event re-issued by an operator under a new id: the id it replays.
    replay_of = models.UUIDField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    #: A relay's lease on the row; unindexed, so claiming is a HOT update that adds no index entries.
    leased_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbox_event"
        ordering = ["created_at", "id"]
        indexes = [
            # The claim query: due pending rows, oldest first; stays small as published rows leave.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_pending_due_idx",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id", "sequence"], name="outbox_aggregate_idx"),
            # Retention: published rows, oldest first.
            models.Index(fields=["published_at"], name="outbox_published_idx", condition=Q(state="published")),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.state})"


class OutboxRelay(models.Model):
    """A relay process's heartbeat: who runs, since when, and when it last finished a batch."""

    relay_id = models.CharField(max_length=100, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_beat_at = models.DateTimeField()
    last_batch_at = models.DateTimeField(null=True, blank=True)
    published_total = models.PositiveBigIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbox_relay"
        ordering = ["-last_beat_at"]

    def __str__(self) -> str:
        return f"relay {self.relay_id} on {self.hostname}"


class OutboxReplay(models.Model):
    """The audit record of one replay: who, when, why, which filter, how many, which events."""

    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=16)  # cli, rest, admin
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()
    filters = models.JSONField(default=dict)
    new_ids = models.BooleanField(default=False)
    count = models.PositiveIntegerField()

    class Meta:
        db_table = "outbox_replay"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"replay {self.pk} by {self.actor}: {self.count} rows"


class OutboxReplayEvent(models.Model):
    """One event a replay touched (and, with new ids, the event it issued)."""

    replay = models.ForeignKey(OutboxReplay, on_delete=models.CASCADE, related_name="events")
    event_id = models.UUIDField(db_index=True)
    new_event_id = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "outbox_replay_event"

    def __str__(self) -> str:
        return str(self.event_id)
