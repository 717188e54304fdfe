"""Read-only REST API for operator and service accounts."""

from __future__ import annotations

from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.api.filters import DeliveryFilter, NotificationFilter
from notifications.api.serializers import DeliverySerializer, NotificationSerializer
from notifications.models import Delivery, Notification
from notifications.redrive import KINDS, held_message, held_messages, held_summary
from notifications.sequencing import gaps_open_list


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.select_related("event").order_by("-created_at", "-id")


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.select_related("event").order_by("-created_at", "-id")


class HeldQuery(serializers.Serializer):
    """The filters of the held-messages list."""

    kind = serializers.MultipleChoiceField(choices=KINDS, required=False)
    event_type = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class HeldMessageViewSet(viewsets.ViewSet):
    """Staff only: messages held without effect (poison, parked versions, unknown types), for operators.

    Replaying them is ``manage.py poison replay`` or the admin's action.
    """

    permission_classes = [IsAdminUser]
    lookup_value_regex = "[^/]+"

    def list(self, request: Request) -> Response:
        query = HeldQuery(data={**request.query_params.dict(), "kind": request.query_params.getlist("kind")})
        query.is_valid(raise_exception=True)
        kinds = sorted(query.validated_data.get("kind") or KINDS)
        messages = held_messages(
            kinds=kinds, event_type=query.validated_data.get("event_type"), limit=query.validated_data["limit"]
        )
        return Response({"count": len(messages), "results": [m.as_dict() for m in messages]})

    def retrieve(self, request: Request, pk: str) -> Response:
        message = held_message(pk)
        if message is None:
            raise NotFound(f"no poison message or held event {pk!r}")
        return Response(message.as_dict(raw=True))

    @action(detail=False)
    def summary(self, request: Request) -> Response:
        return Response({"held": held_summary()})


class GapViewSet(viewsets.ViewSet):
    """Staff only: open sequence gaps by aggregate (``alerting`` once open past NOTIFIER_GAP_ALERT_AFTER)."""

    permission_classes = [IsAdminUser]

    def list(self, request: Request) -> Response:
        gaps = gaps_open_list()
        return Response(
            {
                "count": len(gaps),
                "alerting": sum(gap.alerting for gap in gaps),
                "results": [gap.as_dict() for gap in gaps],
            }
        )
