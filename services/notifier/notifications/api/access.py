"""Who reads what through the notifier's API: operators (``is_staff``) everything; any other account
only the projects it has been granted (ProjectAccess, managed in the admin), nothing by default."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from notifications.models import Delivery, Notification, ProjectAccess, WebhookEndpoint


def _granted(user: Any) -> QuerySet[ProjectAccess]:
    return ProjectAccess.objects.filter(user=user).values("project_id")


def notifications_visible(*, user: Any) -> QuerySet[Notification]:
    """The notifications ``user`` may read, newest first."""
    notifications = Notification.objects.select_related("event").order_by("-created_at", "-id")
    if user.is_staff:
        return notifications
    return notifications.filter(project_id__in=_granted(user))


def deliveries_visible(*, user: Any) -> QuerySet[Delivery]:
    """The deliveries ``user`` may read (those of events of the projects it reads), newest first."""
    deliveries = Delivery.objects.select_related("event").order_by("-created_at", "-id")
    if user.is_staff:
        return deliveries
    events = Notification.objects.filter(project_id__in=_granted(user)).values("event_id")
    return deliveries.filter(event_id__in=events)


def endpoints_visible(*, user: Any) -> QuerySet[WebhookEndpoint]:
    """The webhook endpoints ``user`` may read and act on (those of the projects it reads), failing ones first."""
    endpoints = WebhookEndpoint.objects.order_by("-consecutive_failures", "project_id", "id")
    if user.is_staff:
        return endpoints
    return endpoints.filter(project_id__in=_granted(user))
