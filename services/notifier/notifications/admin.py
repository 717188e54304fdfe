from django.contrib import admin

from notifications.models import Delivery, InboxEvent, Notification, PoisonMessage


@admin.register(InboxEvent)
class InboxEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "aggregate_id", "sequence", "status", "received_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["=event_id"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "project_id", "recipient", "subject", "created_at"]
    list_filter = ["event_type"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "target", "status", "attempts", "updated_at"]
    list_filter = ["status", "channel"]


@admin.register(PoisonMessage)
class PoisonMessageAdmin(admin.ModelAdmin):
    list_display = ["message_id", "attempts", "dead_lettered", "last_seen_at"]
