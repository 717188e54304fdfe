"""REST for operators, staff only: list, retrieve, stats and replay of outbox rows."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codegen_api.errors import ReferenceNotFound
from codegen_api.filters import NAME_PATTERN, query_params_once
from codegen_api.pagination import StrictPageNumberPagination
from outbox import api_shapes as shapes
from outbox.api_shapes import AGE_DESCRIPTION, AGE_SCHEMA
from outbox.errors import InvalidFilter, NothingMatched, ReplayRefused
from outbox.filters import AGGREGATE_MAX_LENGTH, AGGREGATE_PATTERN, OutboxFilter, outbox_rows_matching
from outbox.models import OutboxEvent, OutboxState
from outbox.ops import outbox_replay, outbox_status
from outbox.presenters import replay_json, row_detail, row_json

#: The replay's 404: nothing replayed and no audit record written.
REFERENCE_NOT_FOUND_OR_NO_MATCH = OpenApiResponse(
    description="An event id in `event_ids` names no outbox row (all of them are named in `fields.event_ids`), "
    "or, unless `dry_run`, the filter matches no row (`fields.filter`); code `not_found`. Nothing is replayed "
    "and no audit record is written."
)

FILTER_PARAMETERS = [
    OpenApiParameter("state", str, enum=[s.value for s in OutboxState]),
    OpenApiParameter(
        "type",
        {"type": "string", "pattern": NAME_PATTERN, "maxLength": 100},
        description="event type, e.g. generation.completed",
    ),
    OpenApiParameter(
        "aggregate",
        {"type": "string", "pattern": AGGREGATE_PATTERN, "maxLength": AGGREGATE_MAX_LENGTH},
        description="TYPE:ID, e.g. generated_project:12",
    ),
    OpenApiParameter("older_than", AGE_SCHEMA, description=AGE_DESCRIPTION),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="created at or after (RFC 3339)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="created before (RFC 3339)"),
]


def _filter(raw: dict[str, Any]) -> OutboxFilter:
    try:
        return OutboxFilter.parse(raw)
    except InvalidFilter as exc:
        field, _, reason = str(exc).partition(": ")
        raise ValidationError({field.replace(" ", "_"): [reason or str(exc)]}) from None


class StaffOnly(APIView):
    permission_classes = [IsAdminUser]


class OutboxList(StaffOnly):
    pagination_class = StrictPageNumberPagination

    @extend_schema(parameters=FILTER_PARAMETERS, responses=shapes.OutboxRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Outbox rows matching the filters, oldest first, paginated."""
        query_params_once(request, [parameter.name for parameter in FILTER_PARAMETERS])
        rows = outbox_rows_matching(_filter(request.query_params.dict()))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([row_json(row) for row in page or []])


class OutboxDetail(StaffOnly):
    @extend_schema(operation_id="v1_outbox_retrieve", responses=shapes.OutboxRowDetailSerializer)
    def get(self, request: Request, event_id: str) -> Response:
        """Everything about one row, with the replays that touched it."""
        row = OutboxEvent.objects.filter(event_id=event_id).first()
        if row is None:
            raise NotFound("No outbox row with that event id.")
        return Response(row_detail(row))


class OutboxStats(StaffOnly):
    @extend_schema(responses=shapes.OutboxStatsSerializer)
    def get(self, request: Request) -> Response:
        """Counts by state and type, oldest pending age, dead rows, relay heartbeats."""
        return Response(outbox_status())


class OutboxReplayView(StaffOnly):
    @extend_schema(
        request=shapes.Replay, responses={200: shapes.ReplayResultSerializer, 404: REFERENCE_NOT_FOUND_OR_NO_MATCH}
    )
    def post(self, request: Request) -> Response:
        """Replay rows by event ids or filter (audited); dry_run shows how many and a sample."""
        body = shapes.Replay(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outbox_filter = _filter({**data["filter"], "event_ids": data["event_ids"]})
        if data["new_id"] and not data["dry_run"] and not data["confirm"]:
            raise ValidationError({"confirm": ["new_id re-issues events for forced reprocessing: set confirm to true"]})
        try:
            result = outbox_replay(
                outbox_filter=outbox_filter,
                reason=data["reason"],
                actor=request.user.get_username(),
                source="rest",
                new_ids=data["new_id"],
                dry_run=data["dry_run"],
            )
        except ReplayRefused as exc:
            raise ValidationError({"filter": [str(exc)]}) from exc
        except NothingMatched as exc:  # nothing replayed, no audit record
            raise ReferenceNotFound("event_ids" if exc.missing else "filter", str(exc)) from exc
        return Response(replay_json(result), status=status.HTTP_200_OK)
