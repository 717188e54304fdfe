"""Outbox rows as operators see them: one JSON shape for the CLI, the REST API and the admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q

from outbox.models import OutboxEvent, OutboxReplayEvent

if TYPE_CHECKING:
    from outbox.ops import ReplayResult


def row_json(row: OutboxEvent) -> dict[str, Any]:
    """One row as stable JSON keys (the `list --json` and `show` shape)."""
    return {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "aggregate_type": row.aggregate_type,
        "aggregate_id": row.aggregate_id,
        "sequence": row.sequence,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "claimed_at": row.claimed_at.isoformat() if row.claimed_at else None,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "replay_of": str(row.replay_of) if row.replay_of else None,
    }


def row_detail(row: OutboxEvent) -> dict[str, Any]:
    """Everything about one row: its fields, payload, headers and every replay that touched it."""
    replays = [
        {
            "replay": link.replay_id,
            "at": link.replay.created_at.isoformat(),
            "actor": link.replay.actor,
            "source": link.replay.source,
            "reason": link.replay.reason,
            "new_event_id": str(link.new_event_id) if link.new_event_id else None,
        }
        for link in OutboxReplayEvent.objects.filter(Q(event_id=row.event_id) | Q(new_event_id=row.event_id))
        .select_related("replay")
        .order_by("replay__created_at", "replay_id")
    ]
    return {**row_json(row), "payload": row.payload, "headers": row.headers, "replays": replays}


def replay_json(result: ReplayResult) -> dict[str, Any]:
    """A replay's outcome as JSON (the REST answer and ``outbox replay --json``)."""
    return {
        "matched": result.matched,
        "replayed": result.replayed,
        "skipped": result.skipped,
        "dry_run": result.dry_run,
        "new_ids": result.new_ids,
        "sample": result.sample,
        "audit_id": result.audit_id,
    }
