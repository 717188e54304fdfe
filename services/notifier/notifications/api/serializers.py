from rest_framework import serializers

from notifications.models import Delivery, Notification


class NotificationSerializer(serializers.ModelSerializer):
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
    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "event_id", "event_type", "channel", "target", "status", "attempts", "last_error",
            "created_at", "updated_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields
