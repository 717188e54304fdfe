"""Admin: outbox rows (read-only, with counts and a "replay selected" action) and the replay audit log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from codegen_config.commands import plural
from outbox import store
from outbox.errors import NothingMatched, ReplayRefused
from outbox.filters import OutboxFilter
from outbox.models import OutboxEvent, OutboxReplay, OutboxReplayEvent
from outbox.ops import outbox_replay


class ReplayForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)
    new_ids = forms.BooleanField(required=False, label="Re-issue under new event ids (forced reprocessing)")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = [
        "event_id",
        "event_type",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        "state",
        "attempts",
        "created_at",
    ]
    list_filter = ["state", "event_type"]
    search_fields = ["=event_id", "=aggregate_id"]
    ordering = ["-id"]
    actions = ["replay_selected"]
    change_list_template = "admin/outbox/outboxevent/change_list.html"

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "outbox_counts": store.outbox_rows_by_state(),
            "outbox_oldest_pending_age": round(store.outbox_oldest_pending_age(), 1),
        }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Replay selected rows…", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> HttpResponse | None:
        form = ReplayForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                result = outbox_replay(
                    outbox_filter=OutboxFilter(event_ids=tuple(queryset.values_list("event_id", flat=True))),
                    reason=form.cleaned_data["reason"],
                    actor=request.user.get_username(),
                    source="admin",
                    new_ids=form.cleaned_data["new_ids"],
                )
            except ReplayRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            except NothingMatched as exc:  # the rows went meanwhile (purged): nothing replayed, nothing audited
                self.message_user(request, str(exc), messages.WARNING)
                return None
            done = f"Replayed {plural(result.replayed, 'row')} (audit record {result.audit_id})."
            self.message_user(request, done, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Replay outbox rows",
            "rows": queryset[:50],
            "count": queryset.count(),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "selected": queryset.values_list("pk", flat=True),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/outbox/replay_confirm.html", context)


class OutboxReplayEventInline(admin.TabularInline):
    model = OutboxReplayEvent
    fields = ["event_id", "new_event_id"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(OutboxReplay)
class OutboxReplayAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor", "source", "count", "new_ids", "reason"]
    list_filter = ["source", "new_ids"]
    search_fields = ["actor", "reason"]
    inlines = [OutboxReplayEventInline]
