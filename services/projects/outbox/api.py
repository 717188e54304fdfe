"""REST for operators, staff only: list, retrieve, stats and replay of outbox rows."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outbox.errors import InvalidFilter, ReplayRefused
from outbox.filters import OutboxFilter, outbox_rows_matching
from outbox.models import OutboxEvent
from outbox.ops import outbox_replay, outbox_status
from outbox.presenters import row_detail, row_json

FILTER_PARAMETERS = [
    OpenApiParameter("state", str, description="pending, published or dead"),
    OpenApiParameter("type", str, description="event type"),
    OpenApiParameter("aggregate", str, description="TYPE:ID"),
    OpenApiParameter("older_than", str, description="e.g. 10m, 2h, 7d"),
    OpenApiParameter("since", str, description="ISO 8601"),
    OpenApiParameter("until", str, description="ISO 8601"),
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
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=inline_serializer("OutboxRows", {"results": serializers.ListField()})
    )
    def get(self, request: Request) -> Response:
        """Outbox rows matching the filters, oldest first, paginated."""
        rows = outbox_rows_matching(_filter(request.query_params.dict()))
        paginator = PageNumberPagination()
        paginator.page_size = 50
        paginator.page_size_query_param = "page_size"
        paginator.max_page_size = 500
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([row_json(row) for row in page or []])


class OutboxDetail(StaffOnly):
    @extend_schema(
        operation_id="outbox_retrieve", responses=inline_serializer("OutboxRow", {"event_id": serializers.UUIDField()})
    )
    def get(self, request: Request, event_id: str) -> Response:
        """Everything about one row, with the replays that touched it."""
        row = OutboxEvent.objects.filter(event_id=event_id).first()
        if row is None:
            raise NotFound("No outbox row with that event id.")
        return Response(row_detail(row))


class OutboxStats(StaffOnly):
    @extend_schema(responses=inline_serializer("OutboxStats", {"by_state": serializers.DictField()}))
    def get(self, request: Request) -> Response:
        """Counts by state and type, oldest pending age, dead rows, relay heartbeats."""
        return Response(outbox_status())


class ReplayRequest(serializers.Serializer):
    event_ids = serializers.ListField(child=serializers.CharField(), required=False, default=list, max_length=10_000)
    filter = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    reason = serializers.CharField(max_length=2000, allow_blank=False)
    dry_run = serializers.BooleanField(default=False)
    new_id = serializers.BooleanField(default=False)
    confirm = serializers.BooleanField(default=False, help_text="required with new_id (unless dry_run)")


class OutboxReplayView(StaffOnly):
    @extend_schema(
        request=ReplayRequest, responses=inline_serializer("ReplayResult", {"replayed": serializers.IntegerField()})
    )
    def post(self, request: Request) -> Response:
        """Replay rows by event ids or filter (audited); dry_run shows how many and a sample."""
        body = ReplayRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        unknown = set(data["filter"]) - {"state", "type", "event_type", "aggregate", "older_than", "since", "until"}
        if unknown:
            raise ValidationError({"filter": [f"unknown keys: {', '.join(sorted(unknown))}"]})
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
        return Response(
            {
                "matched": result.matched,
                "replayed": result.replayed,
                "skipped": result.skipped,
                "dry_run": result.dry_run,
                "new_ids": result.new_ids,
                "sample": result.sample,
                "audit_id": result.audit_id,
            },
            status=status.HTTP_200_OK,
        )
