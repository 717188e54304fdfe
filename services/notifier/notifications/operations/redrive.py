"""Operators' view and replay of the messages the notifier could not take in.

Two kinds are held: **poison** messages (the contracts refused them, or they kept failing; kept in
``PoisonMessage`` with their body) and **held** events (parked versions and unknown types; kept in
the inbox with their raw message). ``held_messages`` lists them, ``held_replay`` takes them in again
after a fix, reading the message from the notifier's database (not Dramatiq's dead-letter queue,
which forgets after 7 days). Every replay, dry runs included, is recorded in ``Redrive``. A
replayed message goes through the inbox, so it has one effect however often it is replayed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from codegen_config.commands import ids_listed
from codegen_contracts import ContractError, ReadingOutcome, envelope_read
from notifications.errors import NothingMatched
from notifications.intake.inbox import inbox_take
from notifications.intake.resume import HELD, OUTCOMES, REFUSED, TAKEN_IN, Resumed, inbox_resume
from notifications.models import HELD_STATUSES, InboxEvent, InboxStatus, PoisonMessage, Redrive

#: The kinds of held message, as listed and filtered.
POISON = "poison"
PARKED = InboxStatus.PARKED.value
UNKNOWN = InboxStatus.UNKNOWN.value
KINDS = (POISON, PARKED, UNKNOWN)
__all__ = ["KINDS", "OUTCOMES", "TAKEN_IN", "HeldMessage", "held_replay", "held_selected", "replayed_json"]


@dataclass(frozen=True)
class HeldMessage:
    """One message held without effect: its kind, id (message id or event id), type, version and why."""

    kind: str
    id: str
    event_type: str
    schema_version: int | None
    reason: str
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    raw: Any = field(repr=False, default=None)

    def as_dict(self, *, raw: bool = False) -> dict[str, Any]:
        """JSON-ready data; the raw message only when asked."""
        data: dict[str, Any] = {
            "kind": self.kind, "id": self.id, "event_type": self.event_type, "schema_version": self.schema_version,
            "reason": self.reason, "attempts": self.attempts, "first_seen_at": self.first_seen_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }  # fmt: skip
        if raw:
            data["raw"] = self.raw
        return data


def _poison_body(record: PoisonMessage) -> Any:
    try:
        return json.loads(record.body)
    except ValueError:
        return record.body


def of_poison(record: PoisonMessage) -> HeldMessage:
    """A poison record as a held message (its type and version read from the body when it has them)."""
    body = _poison_body(record)
    head = body if isinstance(body, dict) else {}
    return HeldMessage(
        kind=POISON, id=record.message_id, event_type=str(head.get("event_type", "")),
        schema_version=head.get("schema_version") if isinstance(head.get("schema_version"), int) else None,
        reason=record.last_error, attempts=record.attempts, first_seen_at=record.first_seen_at,
        last_seen_at=record.last_seen_at, resolved_at=record.resolved_at, raw=body,
    )  # fmt: skip


def of_inbox(row: InboxEvent) -> HeldMessage:
    """A held inbox row as a held message."""
    return HeldMessage(
        kind=row.status, id=str(row.event_id), event_type=row.event_type, schema_version=row.schema_version,
        reason=row.reason, attempts=1, first_seen_at=row.received_at, last_seen_at=row.received_at,
        resolved_at=None, raw=row.raw,
    )  # fmt: skip


def held_messages(
    *,
    kinds: Sequence[str] = KINDS,
    event_type: str | None = None,
    ids: Sequence[str] | None = None,
    include_resolved: bool = False,
    limit: int = 1000,
) -> list[HeldMessage]:
    """Held messages matching the filters, oldest first, at most ``limit`` of each kind."""
    found: list[HeldMessage] = []
    if POISON in kinds:
        records = PoisonMessage.objects.order_by("first_seen_at", "id")
        if not include_resolved:
            records = records.filter(resolved_at__isnull=True)
        if ids is not None:
            records = records.filter(message_id__in=list(ids))
        poison = [of_poison(r) for r in records[:limit]] if event_type is None else [
            m for m in map(of_poison, records.iterator()) if m.event_type == event_type
        ][:limit]  # fmt: skip
        found += poison
    statuses = [kind for kind in kinds if kind in HELD_STATUSES]
    if statuses:
        rows = InboxEvent.objects.filter(status__in=statuses).order_by("id")
        if event_type is not None:
            rows = rows.filter(event_type=event_type)
        if ids is not None:
            rows = rows.filter(event_id__in=[i for i in ids if _is_uuid(i)])
        found += [of_inbox(row) for row in rows[:limit]]
    return sorted(found, key=lambda m: m.first_seen_at)


def held_selected(
    *, kinds: Sequence[str] = KINDS, event_type: str | None = None, ids: Sequence[str] | None = None, limit: int = 1000
) -> list[HeldMessage]:
    """The unresolved held messages a replay takes (as ``held_messages``).

    Raises NothingMatched naming every id of ``ids`` that is no held message of ``kinds``, or when nothing
    matches.
    """
    messages = held_messages(kinds=kinds, event_type=event_type, ids=ids, limit=limit)
    if ids:
        found = {m.id.lower() for m in messages}
        missing = tuple(i for i in ids if i.strip().lower() not in found)
        if missing:
            raise NothingMatched(f"no poison message or held event {ids_listed(missing)}; nothing replayed",
                                 missing=missing)  # fmt: skip
    if not messages:
        raise NothingMatched("nothing held matches; nothing replayed")
    return messages


def held_message(message_id: str) -> HeldMessage | None:
    """The held (or resolved poison) message of this message id or event id, if any."""
    matches = held_messages(ids=[message_id], include_resolved=True, limit=1)
    return matches[0] if matches else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass
class Replayed:
    """What a replay did: its audit record, each message's outcome, the deliveries to attempt after it."""

    redrive: Redrive
    outcomes: dict[str, tuple[str, str]]
    delivery_ids: list[int]


def replayed_json(replayed: Replayed) -> dict[str, Any]:
    """A replay as JSON, as the command's ``--json`` and the REST answer give it."""
    record = replayed.redrive
    return {
        "redrive_id": record.pk, "dry_run": record.dry_run, "matched": record.matched, "taken_in": record.taken_in,
        "still_held": record.still_held, "refused": record.refused,
        "outcomes": [{"id": key, "outcome": outcome, "why": why} for key, (outcome, why) in replayed.outcomes.items()],
    }  # fmt: skip


def held_replay(
    *, messages: Sequence[HeldMessage], reason: str, actor: str, source: str, selection: dict[str, Any], dry_run: bool
) -> Replayed:
    """Take ``messages`` in again, recording who, why, what was selected and what came of it.

    Poison messages are read again from their stored body, held events resumed from their raw
    message; each outcome is TAKEN_IN, HELD or REFUSED with why (what it would be, in a dry run).
    Raises ValueError when no reason is given.
    """
    if not reason.strip():
        raise ValueError("a reason is required")
    resumed = Resumed()
    for message in messages:
        if message.kind == POISON:
            resumed.outcomes[message.id] = _poison_replay(message, dry_run=dry_run, resumed=resumed)
    held_ids = [m.id for m in messages if m.kind != POISON]
    if held_ids:
        held = inbox_resume(event_ids=held_ids, dry_run=dry_run)
        resumed.outcomes.update(held.outcomes)
        resumed.delivery_ids += held.delivery_ids
    redrive = Redrive.objects.create(
        actor=actor[:150], source=source, reason=reason, selection=selection, dry_run=dry_run, matched=len(messages),
        taken_in=resumed.count(TAKEN_IN), still_held=resumed.count(HELD), refused=resumed.count(REFUSED),
    )  # fmt: skip
    return Replayed(redrive, resumed.outcomes, resumed.delivery_ids)


def _poison_replay(message: HeldMessage, *, dry_run: bool, resumed: Resumed) -> tuple[str, str]:
    try:
        reading = envelope_read(message.raw)
    except ContractError as exc:
        if not dry_run:
            PoisonMessage.objects.filter(message_id=message.id).update(
                replays=F("replays") + 1, last_error=f"contract (on replay): {exc}"[:2000], last_seen_at=timezone.now()
            )
        return REFUSED, str(exc)
    if dry_run:
        if reading.outcome is ReadingOutcome.CURRENT:
            return TAKEN_IN, "would be taken in"
        return HELD, reading.reason
    with transaction.atomic():
        intake = inbox_take(reading)
        PoisonMessage.objects.filter(message_id=message.id).update(replays=F("replays") + 1, resolved_at=timezone.now())
    resumed.delivery_ids += intake.delivery_ids
    if intake.status in HELD_STATUSES:
        return HELD, f"recorded as {intake.status}: {reading.reason}"
    return TAKEN_IN, "received before: nothing added" if intake.duplicate else f"as {intake.status}"


def held_summary() -> list[dict[str, Any]]:
    """How many messages are held, by kind, event type and version (unresolved poison by kind only)."""
    from django.db.models import Count

    rows = (
        InboxEvent.objects.filter(status__in=HELD_STATUSES)
        .values("status", "event_type", "schema_version")
        .annotate(count=Count("id"))
        .order_by("status", "event_type", "schema_version")
    )
    summary = [
        {"kind": r["status"], "event_type": r["event_type"], "schema_version": r["schema_version"], "count": r["count"]}
        for r in rows
    ]
    poison = PoisonMessage.objects.filter(resolved_at__isnull=True).count()
    if poison:
        summary.insert(0, {"kind": POISON, "event_type": None, "schema_version": None, "count": poison})
    return summary
