"""The notifier API's bodies: notifications and deliveries from their models, the held-message query it
parses, and the operator answers (built by notifications.operations.redrive and .sequencing; documented here)."""

from rest_framework import serializers

from codegen_api.serializers import QueryIntegerField
from codegen_contracts.names import NAME_PATTERN
from notifications.models import Channel, Delivery, Notification
from notifications.operations.redrive import KINDS

#: Every channel a notification or a delivery names (the schema's ChannelEnum).
CHANNELS = [channel.value for channel in Channel]


class NotificationSerializer(serializers.ModelSerializer):
    """One notification (in-app, and the notice e-mails and webhooks carry)."""

    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    sequence = serializers.IntegerField(source="event.sequence", read_only=True)
    late = serializers.BooleanField(
        source="event.late", read_only=True, help_text="taken in after a later event of its aggregate"
    )

    class Meta:
        model = Notification
        fields = [
            "id", "event_id", "event_type", "sequence", "late", "project_id", "recipient", "channel", "subject",
            "body", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    """One e-mail or webhook delivery and how it went."""

    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)
    endpoint = serializers.IntegerField(
        source="endpoint_id", read_only=True, allow_null=True, help_text="the webhook endpoint (null for e-mail)"
    )
    next_attempt_at = serializers.DateTimeField(read_only=True, help_text="when it is tried next (while pending)")

    class Meta:
        model = Delivery
        fields = [
            "id", "event_id", "event_type", "channel", "target", "endpoint", "status", "attempts", "last_error",
            "next_attempt_at", "created_at", "updated_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class HeldQuery(serializers.Serializer):
    """The filters of the held-messages list (``kind`` may be given several times)."""

    kind = serializers.MultipleChoiceField(choices=KINDS, required=False)
    event_type = serializers.RegexField(NAME_PATTERN, required=False, max_length=100)
    limit = QueryIntegerField(required=False, min_value=1, max_value=1000, default=100)


class HeldMessageSerializer(serializers.Serializer):
    """A message held without effect (redrive.HeldMessage)."""

    kind = serializers.ChoiceField(choices=KINDS)
    id = serializers.CharField(help_text="the message id (poison) or the event id")
    event_type = serializers.CharField(allow_blank=True)
    schema_version = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField(min_value=0)
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class HeldMessageDetailSerializer(HeldMessageSerializer):
    """A held message with the message as received."""

    raw = serializers.JSONField(help_text="the message as received: JSON when it parsed, else its text")


class HeldMessagesSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    results = HeldMessageSerializer(many=True)


class HeldCountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    event_type = serializers.CharField(allow_null=True)
    schema_version = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField(min_value=1)


class HeldSummarySerializer(serializers.Serializer):
    held = HeldCountSerializer(many=True)


class GapSerializer(serializers.Serializer):
    """The missing sequences of one aggregate (sequencing.OpenGap)."""

    aggregate_type = serializers.CharField()
    aggregate_id = serializers.CharField()
    aggregate = serializers.CharField(help_text="TYPE:ID")
    missing = serializers.ListField(child=serializers.IntegerField(min_value=1))
    opened_at = serializers.DateTimeField()
    alerting = serializers.BooleanField(help_text="open longer than NOTIFIER_GAP_ALERT_AFTER")


class GapsSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    alerting = serializers.IntegerField(min_value=0)
    results = GapSerializer(many=True)
