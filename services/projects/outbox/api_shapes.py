"""The bodies of the outbox REST API as serializers: the replay request it parses, and the answers it
sends (built by outbox.presenters and outbox.ops; these classes document them in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from codegen_api.serializers import ClosedMixin, ReasonField, StrictBooleanField, StrictUUIDField
from codegen_contracts.names import NAME_PATTERN
from outbox.filters import AGGREGATE_MAX_LENGTH, AGGREGATE_PATTERN, DURATION_PATTERN, LONGEST_AGE
from outbox.models import OutboxState
from outbox.ops import RELAY_STATES

STATES = [s.value for s in OutboxState]

#: An age in the schema: the format ``outbox-age``, since no pattern can say "at most a century".
AGE_SCHEMA = {"type": "string", "format": "outbox-age", "pattern": DURATION_PATTERN}
AGE_DESCRIPTION = f"an age: a number and a unit (s, m, h or d), e.g. 90s, 10m, 1.5h, 7d; at most {LONGEST_AGE.days}d"


@extend_schema_field(AGE_SCHEMA)
class AgeField(serializers.CharField):
    """An age as outbox.filters parses it (format ``outbox-age``)."""


class OutboxRowSerializer(serializers.Serializer):
    """One row (presenters.row_json)."""

    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    schema_version = serializers.IntegerField()
    aggregate_type = serializers.CharField()
    aggregate_id = serializers.CharField()
    sequence = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=STATES)
    attempts = serializers.IntegerField(min_value=0)
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.UUIDField(allow_null=True)


class OutboxReplayLinkSerializer(serializers.Serializer):
    replay = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    reason = serializers.CharField()
    new_event_id = serializers.UUIDField(allow_null=True)


class OutboxRowDetailSerializer(OutboxRowSerializer):
    """One row with its payload, headers and replays (presenters.row_detail)."""

    payload = serializers.JSONField()
    headers = serializers.DictField()
    replays = OutboxReplayLinkSerializer(many=True)


class OutboxRelaySerializer(serializers.Serializer):
    relay_id = serializers.CharField()
    hostname = serializers.CharField()
    pid = serializers.IntegerField()
    last_beat_at = serializers.DateTimeField()
    last_batch_at = serializers.DateTimeField(allow_null=True)
    published_total = serializers.IntegerField(min_value=0)
    stopped = serializers.BooleanField()
    state = serializers.ChoiceField(
        choices=RELAY_STATES,
        help_text="stopped: it said so as it exited; silent: no heartbeat for three intervals (killed, or cut off)",
    )


class OutboxStatsSerializer(serializers.Serializer):
    """ops.outbox_status."""

    by_state = serializers.DictField(child=serializers.IntegerField(min_value=0))
    by_type = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField(min_value=0)))
    oldest_pending_age_seconds = serializers.FloatField(min_value=0)
    dead = serializers.IntegerField(min_value=0)
    relays = OutboxRelaySerializer(many=True)


class ReplaySampleSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    state = serializers.ChoiceField(choices=STATES)
    attempts = serializers.IntegerField(min_value=0)


class ReplayResultSerializer(serializers.Serializer):
    """ops.ReplayResult."""

    matched = serializers.IntegerField(min_value=0)
    replayed = serializers.IntegerField(min_value=0)
    skipped = serializers.IntegerField(min_value=0)
    dry_run = serializers.BooleanField()
    new_ids = serializers.BooleanField()
    sample = ReplaySampleSerializer(many=True)
    audit_id = serializers.IntegerField(allow_null=True)


@extend_schema_field(OpenApiTypes.DATETIME)
class DateTimeText(serializers.CharField):
    """An RFC 3339 date-time, kept as text for outbox.filters to parse (as the list's query does)."""


class ReplayFilter(ClosedMixin, serializers.Serializer):
    """Which rows to replay; the same filters as the list."""

    state = serializers.ChoiceField(choices=STATES, required=False)
    type = serializers.RegexField(NAME_PATTERN, max_length=100, required=False)
    event_type = serializers.RegexField(NAME_PATTERN, max_length=100, required=False, help_text="same as type")
    aggregate = serializers.RegexField(
        AGGREGATE_PATTERN, max_length=AGGREGATE_MAX_LENGTH, required=False, help_text="TYPE:ID"
    )
    older_than = AgeField(required=False, help_text=AGE_DESCRIPTION)
    since = DateTimeText(required=False, help_text="created at or after")
    until = DateTimeText(required=False, help_text="created before")


class Replay(ClosedMixin, serializers.Serializer):
    """A replay: by event ids, by filter, or both (rows must match both)."""

    event_ids = serializers.ListField(child=StrictUUIDField(), required=False, default=list, max_length=10_000)
    filter = ReplayFilter(required=False, default=dict)
    reason = ReasonField(max_length=2000)
    dry_run = StrictBooleanField(default=False)
    new_id = StrictBooleanField(default=False)
    confirm = StrictBooleanField(default=False, help_text="required with new_id (unless dry_run)")


def outbox_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: what a replay body needs beyond its fields' types (OpenAPI 3.0 has no if/then,
    so as ``anyOf``): event ids or a filter, and ``confirm`` with ``new_id`` unless ``dry_run``."""
    replay = result["components"]["schemas"]["ReplayRequest"]
    replay["allOf"] = [
        {
            "anyOf": [
                {"required": ["event_ids"], "properties": {"event_ids": {"minItems": 1}}},
                {"required": ["filter"], "properties": {"filter": {"minProperties": 1}}},
            ]
        },
        {
            "anyOf": [
                {"properties": {"new_id": {"enum": [False]}}},
                {"required": ["dry_run"], "properties": {"dry_run": {"enum": [True]}}},
                {"required": ["confirm"], "properties": {"confirm": {"enum": [True]}}},
            ]
        },
    ]
    return result
