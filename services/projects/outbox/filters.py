"""The filter operators use to pick outbox rows, parsed once for the CLI, the REST API and the admin."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from codegen_api.filters import date_time_parse
from codegen_config import durations
from codegen_contracts.names import NAME_PATTERN, is_catalogue_name
from outbox.errors import InvalidFilter
from outbox.models import OutboxEvent, OutboxState

#: An age (``codegen_config.durations``: a number and a unit, s, m, h or d), at most LONGEST_AGE (the
#: ``outbox-age`` format of the API's schema, which no pattern can bound).
DURATION_PATTERN = durations.DURATION_PATTERN
#: An aggregate: its type and id, e.g. generated_project:12.
AGGREGATE_PATTERN = NAME_PATTERN[:-1] + r":[A-Za-z0-9_.:-]{1,100}$"

#: The longest aggregate a filter takes (a type and an id of at most 100 characters each).
AGGREGATE_MAX_LENGTH = 201

_AGGREGATE = re.compile(AGGREGATE_PATTERN)
LONGEST_AGE = durations.LONGEST_AGE


def duration_parse(value: str, *, name: str) -> timedelta:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"7d"`` as a timedelta; InvalidFilter naming ``name`` otherwise."""
    try:
        return timedelta(seconds=durations.age_seconds(value))
    except ValueError as exc:
        raise InvalidFilter(f"{name}: {exc}") from None


def _datetime(value: str, *, name: str) -> datetime:
    try:
        return date_time_parse(value)
    except ValueError as exc:  # not RFC 3339, or out of range: a UTC offset of 24 h or more, a 30th of February
        raise InvalidFilter(f"{name}: not a valid date-time ({exc}); got {value!r}") from None


@dataclass(frozen=True)
class OutboxFilter:
    """Which outbox rows: by state, type, aggregate, age, creation window, or event ids."""

    state: str | None = None
    event_type: str | None = None
    aggregate_type: str | None = None
    aggregate_id: str | None = None
    older_than: timedelta | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_ids: tuple[uuid.UUID, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> OutboxFilter:
        """Build from strings (command-line options or query parameters); raise InvalidFilter saying why."""
        state = raw.get("state") or None
        if state is not None and state not in {s.value for s in OutboxState}:
            raise InvalidFilter(f"state: must be one of pending, published, dead; got {state!r}")
        aggregate = raw.get("aggregate") or None
        aggregate_type = aggregate_id = None
        if aggregate is not None:
            if len(str(aggregate)) > AGGREGATE_MAX_LENGTH or not _AGGREGATE.fullmatch(str(aggregate)):
                raise InvalidFilter(f"aggregate: expected TYPE:ID, e.g. generated_project:12; got {aggregate!r}")
            aggregate_type, _, aggregate_id = str(aggregate).partition(":")
        ids_raw = raw.get("event_ids") or ()
        if isinstance(ids_raw, str):
            ids_raw = [part for part in ids_raw.split(",") if part.strip()]
        event_ids = []
        for value in ids_raw:
            try:
                event_ids.append(uuid.UUID(str(value).strip()))
            except ValueError:
                raise InvalidFilter(f"event id: not a UUID: {value!r}") from None
        event_type = raw.get("event_type") or raw.get("type") or None
        if event_type is not None and not is_catalogue_name(str(event_type)):
            raise InvalidFilter(f"type: expected an event type such as generation.completed; got {event_type!r}")
        return cls(
            state=state,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            older_than=duration_parse(raw["older_than"], name="older_than") if raw.get("older_than") else None,
            since=_datetime(raw["since"], name="since") if raw.get("since") else None,
            until=_datetime(raw["until"], name="until") if raw.get("until") else None,
            event_ids=tuple(event_ids),
        )

    @property
    def empty(self) -> bool:
        return self == OutboxFilter()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for audit records."""
        data: dict[str, Any] = {}
        for name in ("state", "event_type", "aggregate_type", "aggregate_id"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.older_than:
            data["older_than_seconds"] = self.older_than.total_seconds()
        if self.since:
            data["since"] = self.since.isoformat()
        if self.until:
            data["until"] = self.until.isoformat()
        if self.event_ids:
            data["event_ids"] = [str(e) for e in self.event_ids]
        return data

    def apply(self, queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
        """Narrow ``queryset`` to the rows this filter names."""
        if self.state:
            queryset = queryset.filter(state=self.state)
        if self.event_type:
            queryset = queryset.filter(event_type=self.event_type)
        if self.aggregate_type:
            queryset = queryset.filter(aggregate_type=self.aggregate_type, aggregate_id=self.aggregate_id)
        if self.older_than:
            queryset = queryset.filter(created_at__lt=timezone.now() - self.older_than)
        if self.since:
            queryset = queryset.filter(created_at__gte=self.since)
        if self.until:
            queryset = queryset.filter(created_at__lt=self.until)
        if self.event_ids:
            queryset = queryset.filter(event_id__in=self.event_ids)
        return queryset


def outbox_rows_matching(outbox_filter: OutboxFilter) -> QuerySet[OutboxEvent]:
    """Outbox rows matching ``outbox_filter``, oldest first."""
    return outbox_filter.apply(OutboxEvent.objects.all()).order_by("created_at", "id")
