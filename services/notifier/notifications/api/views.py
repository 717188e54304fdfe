"""Read-only REST API for operator and service accounts."""

from __future__ import annotations

from rest_framework import viewsets

from notifications.api.filters import DeliveryFilter, NotificationFilter
from notifications.api.serializers import DeliverySerializer, NotificationSerializer
from notifications.models import Delivery, Notification


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.select_related("event").order_by("-created_at", "-id")


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.select_related("event").order_by("-created_at", "-id")
