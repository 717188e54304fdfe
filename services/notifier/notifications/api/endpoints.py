"""Webhook endpoints and delivery attempts over REST: read by staff and by accounts granted the project,
which may also disable, enable and recover them (a reason required, dry runs, every action recorded)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from codegen_api.schema import CONFLICT
from codegen_api.serializers import ClosedMixin, DateTimeRfc3339Field, ReasonField, StrictBooleanField
from notifications.api.access import endpoints_visible
from notifications.api.filters import WebhookEndpointFilter
from notifications.delivery.recovery import endpoint_act
from notifications.models import DeliveryAttempt, EndpointAction, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """A project's webhook URL and what its receiver has shown."""

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "project_id", "url", "state", "state_reason", "state_changed_at", "consecutive_failures",
            "failing_since", "last_success_at", "last_failure_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    """One attempt: when, how long, the receiver's status (or none) and the start of its answer, the error,
    and when the next attempt is due (null when this one settled the delivery)."""

    class Meta:
        model = DeliveryAttempt
        fields = [
            "number", "started_at", "duration_ms", "status_code", "error", "response_body", "next_attempt_at",
        ]  # fmt: skip
        read_only_fields = fields


class EndpointActionRequest(ClosedMixin, serializers.Serializer):
    """Why, and whether only to say what would happen."""

    reason = ReasonField(max_length=2000)
    dry_run = StrictBooleanField(default=False)


class RecoverRequest(EndpointActionRequest):
    """Send again what failed at or after ``since``."""

    since = DateTimeRfc3339Field(help_text="deliveries that failed at or after this time (RFC 3339)")


class EndpointActionSerializer(serializers.ModelSerializer):
    """An action on an endpoint, as recorded: ``matched`` is how many deliveries it concerned."""

    endpoint = WebhookEndpointSerializer(read_only=True)

    class Meta:
        model = EndpointAction
        fields = ["id", "action", "actor", "reason", "since", "dry_run", "matched", "created_at", "endpoint"]
        read_only_fields = fields


class Refused(APIException):
    status_code = 409
    default_code = "conflict"


class WebhookEndpointViewSet(viewsets.ReadOnlyModelViewSet):
    """Webhook endpoints, failing ones first: all for staff, those of granted projects otherwise."""

    serializer_class = WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilter
    queryset = WebhookEndpoint.objects.none()
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> Any:
        return endpoints_visible(user=self.request.user)

    def _act(self, request: Request, name: str, body: type[EndpointActionRequest]) -> Response:
        endpoint = self.get_object()
        given = body(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            record = endpoint_act(
                endpoint, action=name, actor=request.user.get_username(), reason=given.validated_data["reason"],
                since=given.validated_data.get("since"), dry_run=given.validated_data["dry_run"],
            )  # fmt: skip
        except ValueError as exc:
            raise Refused(str(exc)) from None
        record.endpoint.refresh_from_db()
        return Response(EndpointActionSerializer(record).data)

    @extend_schema(request=EndpointActionRequest, responses={200: EndpointActionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: Any = None) -> Response:
        """Disable the endpoint: its pending deliveries end with the reason, and the owner is told."""
        return self._act(request, "disable", EndpointActionRequest)

    @extend_schema(request=EndpointActionRequest, responses={200: EndpointActionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: Any = None) -> Response:
        """Enable a disabled endpoint again (what failed meanwhile is sent again by ``recover``)."""
        return self._act(request, "enable", EndpointActionRequest)

    @extend_schema(request=RecoverRequest, responses={200: EndpointActionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: Any = None) -> Response:
        """Send again, on a fresh schedule, every delivery to the endpoint that failed since a time."""
        return self._act(request, "recover", RecoverRequest)
