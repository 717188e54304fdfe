"""Read-only REST API for operator and service accounts: what each may read is notifications.api.access."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codegen_api.filters import query_params_once
from notifications.api import serializers as shapes
from notifications.api.access import deliveries_visible, notifications_visible
from notifications.api.endpoints import DeliveryAttemptSerializer
from notifications.api.filters import DeliveryFilter, NotificationFilter
from notifications.intake.sequencing import gaps_open_list
from notifications.models import Delivery, Notification
from notifications.operations.redrive import KINDS, held_message, held_messages, held_summary


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Notifications, newest first: all of them for staff, those of granted projects for other accounts."""

    serializer_class = shapes.NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()  # the model, for the schema; get_queryset() says what is visible
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> Any:
        return notifications_visible(user=self.request.user)


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """E-mail and webhook deliveries, newest first: all for staff, those of granted projects otherwise."""

    serializer_class = shapes.DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.none()
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> Any:
        return deliveries_visible(user=self.request.user)

    @extend_schema(responses=DeliveryAttemptSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def attempts(self, request: Request, pk: Any = None) -> Response:
        """Every attempt at the delivery, oldest first (paginated)."""
        attempts = self.get_object().attempt_log.order_by("number", "id")
        page = self.paginate_queryset(attempts)
        return self.get_paginated_response(DeliveryAttemptSerializer(page, many=True).data)


class StaffOnly(APIView):
    permission_classes = [IsAdminUser]


class HeldMessageList(StaffOnly):
    """Staff only: messages held without effect (poison, parked versions, unknown types), for operators.

    Replaying them is ``manage.py poison replay`` or the admin's action.
    """

    @extend_schema(operation_id="v1_held_list", parameters=[shapes.HeldQuery], responses=shapes.HeldMessagesSerializer)
    def get(self, request: Request) -> Response:
        query_params_once(request, ["event_type", "limit"])
        query = shapes.HeldQuery(data={**request.query_params.dict(), "kind": request.query_params.getlist("kind")})
        query.is_valid(raise_exception=True)
        kinds = sorted(query.validated_data.get("kind") or KINDS)
        messages = held_messages(
            kinds=kinds, event_type=query.validated_data.get("event_type"), limit=query.validated_data["limit"]
        )
        return Response({"count": len(messages), "results": [m.as_dict() for m in messages]})


class HeldMessageDetail(StaffOnly):
    @extend_schema(operation_id="v1_held_retrieve", responses=shapes.HeldMessageDetailSerializer)
    def get(self, request: Request, id: str) -> Response:
        """One held message, with the message as received."""
        message = held_message(id)
        if message is None:
            raise NotFound(f"no poison message or held event {id!r}")
        return Response(message.as_dict(raw=True))


class HeldSummary(StaffOnly):
    @extend_schema(operation_id="v1_held_summary", responses=shapes.HeldSummarySerializer)
    def get(self, request: Request) -> Response:
        """How many messages are held, by kind, event type and version."""
        return Response({"held": held_summary()})


class GapList(StaffOnly):
    """Staff only: open sequence gaps by aggregate (``alerting`` once open past NOTIFIER_GAP_ALERT_AFTER)."""

    @extend_schema(operation_id="v1_gaps_list", responses=shapes.GapsSerializer)
    def get(self, request: Request) -> Response:
        gaps = gaps_open_list()
        return Response(
            {
                "count": len(gaps),
                "alerting": sum(gap.alerting for gap in gaps),
                "results": [gap.as_dict() for gap in gaps],
            }
        )
