import django_filters

from notifications.models import Channel, Delivery, DeliveryStatus, Notification


class NotificationFilter(django_filters.FilterSet):
    project_id = django_filters.NumberFilter()
    event_type = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Notification
        fields = ["project_id", "event_type", "since"]


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=[(s.value, s.value) for s in DeliveryStatus])
    channel = django_filters.ChoiceFilter(choices=[(c.value, c.value) for c in (Channel.EMAIL, Channel.WEBHOOK)])

    class Meta:
        model = Delivery
        fields = ["status", "channel"]
