"""Admin: outbox rows, read-only (operations tooling adds replay)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from outbox.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "aggregate_type", "aggregate_id", "sequence", "state", "attempts", "created_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["=event_id", "=aggregate_id"]
    ordering = ["-id"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
