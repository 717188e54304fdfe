"""Operators' actions over REST, staff only, as the commands and the admin do them: replay held messages
(poison ones are redriven, parked and unknown events resumed) and retry deliveries. Each takes a reason
and ``dry_run``, and is recorded (``Redrive``, ``DeliveryRetry``), dry runs too; ids that do not exist, or
a selection matching nothing, are a 404 naming them, with nothing done and nothing recorded."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codegen_api.errors import ReferenceNotFound
from codegen_api.serializers import ClosedMixin, ReasonField, StrictBooleanField, StrictIntegerField
from codegen_config.durations import DURATION_PATTERN, LONGEST_AGE, age_seconds
from codegen_contracts.names import NAME_PATTERN
from notifications.delivery.channels import CHANNELS
from notifications.delivery.retries import RETRY_MAX, RETRY_STATUSES, DeliverySelection, deliveries_retry, retry_json
from notifications.errors import NothingMatched
from notifications.operations.redrive import KINDS, OUTCOMES, held_replay, held_selected, replayed_json

#: The channels a delivery goes out by (in-app notifications are not sent).
SEND_CHANNELS = list(CHANNELS)
#: The most held messages one replay names, and deliveries one retry names: with a reason, a body of that
#: many ids stays under API_MAX_BODY_BYTES (64 KiB) however it is escaped. Filters reach further.
REPLAY_IDS_MAX = 200
RETRY_IDS_MAX = 1000
#: The most held messages one replay takes (of each kind).
REPLAY_MAX = 1000

NOT_FOUND = OpenApiResponse(
    description="An id in `ids` names nothing to act on (all such ids are named in `fields.ids`), or the "
    "selection matches nothing (`fields.body`); code `not_found`. Nothing is done and nothing is recorded."
)


@extend_schema_field({"type": "string", "format": "age", "pattern": DURATION_PATTERN})
class AgeField(serializers.CharField):
    """An age: a number and a unit (s, m, h or d), e.g. 10m; at most a century (format ``age``)."""

    def to_internal_value(self, data: Any) -> float:
        text = super().to_internal_value(data)
        try:
            return age_seconds(text)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


#: A message id (Dramatiq's are UUIDs) or an event id.
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


@extend_schema_field({"type": "string", "pattern": MESSAGE_ID_PATTERN, "minLength": 1, "maxLength": 100})
class MessageId(serializers.RegexField):
    """A message id or an event id, as a JSON string (DRF would take 12 as "12")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MESSAGE_ID_PATTERN, max_length=100, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, not {type(data).__name__}.")
        return str(super().to_internal_value(data))


class HeldReplay(ClosedMixin, serializers.Serializer):
    """Which held messages to take in again: named by ``ids``, or every match of the filters with ``all``."""

    ids = serializers.ListField(
        child=MessageId(), required=False, default=list, max_length=REPLAY_IDS_MAX,
        help_text="message ids (poison) or event ids (parked, unknown)",
    )  # fmt: skip
    all = StrictBooleanField(default=False, help_text="replay every match of the filters (when no ids are named)")
    kind = serializers.ListField(child=serializers.ChoiceField(choices=KINDS), required=False, max_length=3)
    event_type = serializers.RegexField(NAME_PATTERN, max_length=100, required=False)
    limit = StrictIntegerField(min_value=1, max_value=REPLAY_MAX, default=REPLAY_MAX, help_text="at most, per kind")
    reason = ReasonField(max_length=2000)
    dry_run = StrictBooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["ids"] and not attrs["all"]:
            raise serializers.ValidationError({"ids": ["name the messages, or set all to true to replay every match"]})
        return attrs


class ReplayOutcomeSerializer(serializers.Serializer):
    id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    why = serializers.CharField()


class HeldReplayResultSerializer(serializers.Serializer):
    """What a replay did (or, in a dry run, would do), and its record."""

    redrive_id = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    matched = serializers.IntegerField(min_value=0)
    taken_in = serializers.IntegerField(min_value=0)
    still_held = serializers.IntegerField(min_value=0)
    refused = serializers.IntegerField(min_value=0)
    outcomes = ReplayOutcomeSerializer(many=True)


class DeliveryRetry(ClosedMixin, serializers.Serializer):
    """Which deliveries to make due again: every filter given must match; at most ``limit``, oldest first."""

    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**63 - 1), required=False, default=list,
        max_length=RETRY_IDS_MAX,
    )  # fmt: skip
    status = serializers.ChoiceField(choices=RETRY_STATUSES, default=RETRY_STATUSES[0])
    channel = serializers.ChoiceField(choices=SEND_CHANNELS, required=False)
    event_type = serializers.RegexField(NAME_PATTERN, max_length=100, required=False)
    older_than = AgeField(
        required=False, help_text=f"last touched longer ago than this (e.g. 10m; at most {LONGEST_AGE.days}d)"
    )
    limit = StrictIntegerField(min_value=1, max_value=RETRY_MAX, default=1000)
    reason = ReasonField(max_length=2000)
    dry_run = StrictBooleanField(default=False)


class DeliveryRetryResultSerializer(serializers.Serializer):
    """What a retry did (or, in a dry run, would do), and its record."""

    retry_id = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    matched = serializers.IntegerField(min_value=0)
    made_due = serializers.IntegerField(min_value=0, help_text="fewer than matched if some were sent meanwhile")
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="the deliveries matched")


class OperationView(APIView):
    """A staff-only action: its body parsed by ``body``, then ``act`` with the validated data and the actor;
    NothingMatched is a 404 naming the ids (or the selection)."""

    permission_classes = [IsAdminUser]
    body: type[serializers.Serializer]

    def act(self, given: dict[str, Any], actor: str) -> dict[str, Any]:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        body = self.body(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            return Response(self.act(body.validated_data, request.user.get_username()))
        except NothingMatched as exc:
            raise ReferenceNotFound("ids" if exc.missing else "body", str(exc)) from None


@extend_schema_view(
    post=extend_schema(
        operation_id="v1_held_replay",
        request=HeldReplay,
        responses={200: HeldReplayResultSerializer, 404: NOT_FOUND},
        description="Take held messages in again through the inbox (one effect each), recorded with the reason.",
    )
)
class HeldReplayView(OperationView):
    body = HeldReplay

    def act(self, given: dict[str, Any], actor: str) -> dict[str, Any]:
        messages = held_selected(
            kinds=given.get("kind") or KINDS, event_type=given.get("event_type"), ids=given["ids"] or None,
            limit=given["limit"],
        )  # fmt: skip
        selection = {key: given[key] for key in ("ids", "all", "kind", "event_type", "limit") if given.get(key)}
        replayed = held_replay(
            messages=messages, reason=given["reason"], actor=actor, source="rest", selection=selection,
            dry_run=given["dry_run"],
        )  # fmt: skip
        return replayed_json(replayed)


@extend_schema_view(
    post=extend_schema(
        operation_id="v1_deliveries_retry",
        request=DeliveryRetry,
        responses={200: DeliveryRetryResultSerializer, 404: NOT_FOUND},
        description="Make deliveries due now on a fresh retry schedule (the delivery workers send them), recorded.",
    )
)
class DeliveryRetryView(OperationView):
    body = DeliveryRetry

    def act(self, given: dict[str, Any], actor: str) -> dict[str, Any]:
        selection = DeliverySelection(
            status=given["status"], channel=given.get("channel"), event_type=given.get("event_type"),
            older_than=given.get("older_than"), ids=tuple(given["ids"]), limit=given["limit"],
        )  # fmt: skip
        record, _ = deliveries_retry(
            selection=selection, reason=given["reason"], actor=actor, source="rest", dry_run=given["dry_run"]
        )
        return retry_json(record)
