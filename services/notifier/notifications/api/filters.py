"""Query-string filters of the notifier API; each refuses what its schema refuses (codegen_api.filters)."""

import django_filters

from codegen_api.filters import DateTimeFilter, IdFilter, NameFilter
from notifications.delivery.channels import CHANNELS
from notifications.models import Delivery, DeliveryStatus, EndpointState, Notification, WebhookEndpoint


class NotificationFilter(django_filters.FilterSet):
    project_id = IdFilter()
    event_type = NameFilter()
    since = DateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="created at or after (RFC 3339)")

    class Meta:
        model = Notification
        fields = ["project_id", "event_type", "since"]


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in DeliveryStatus])
    channel = django_filters.ChoiceFilter(choices=[(name, name) for name in CHANNELS])

    class Meta:
        model = Delivery
        fields = ["status", "channel"]


class WebhookEndpointFilter(django_filters.FilterSet):
    project_id = IdFilter()
    state = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in EndpointState])

    class Meta:
        model = WebhookEndpoint
        fields = ["project_id", "state"]
