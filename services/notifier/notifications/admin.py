"""Admin: the notifier's tables read-only; held messages (poison, parked, unknown) with a replay action; the
delivery side's in ``notifications.delivery.admin``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from notifications.models import (
    HELD_STATUSES,
    AggregateCursor,
    InboxEvent,
    Notification,
    PoisonMessage,
    ProjectAccess,
    Redrive,
    SequenceGap,
)
from notifications.redrive import HeldMessage, held_replay, held_summary, of_inbox, of_poison

#: The most messages one admin replay takes (in the request);
#: more go through ``manage.py poison replay``.
ADMIN_REPLAY_MAX = 50


class ReplayForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)
    dry_run = forms.BooleanField(required=False, label="Dry run: say what would happen, change nothing")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReplayAdmin(ReadOnlyAdmin):
    """A read-only admin whose rows are held messages an operator can replay (reason required, audited)."""

    actions = ["replay_selected"]

    #: The held message a row stands for.
    held: Callable[[Any], HeldMessage]

    def replayable(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The selected rows a replay takes."""
        return queryset

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Replay selected messages…", permissions=["replay"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        queryset = self.replayable(queryset)
        count = queryset.count()
        if count > ADMIN_REPLAY_MAX:
            self.message_user(
                request, f"Select at most {ADMIN_REPLAY_MAX}; use `manage.py poison replay` for more.", messages.ERROR
            )
            return None
        held = [self.held(obj) for obj in queryset]
        form = ReplayForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            replayed = held_replay(
                messages=held,
                reason=form.cleaned_data["reason"],
                actor=request.user.get_username(),
                selection={"admin": self.model._meta.model_name, "ids": [m.id for m in held]},
                dry_run=form.cleaned_data["dry_run"],
            )
            record = replayed.redrive
            for message_id, (outcome, why) in replayed.outcomes.items():
                self.message_user(request, f"{message_id}: {outcome} ({why})", messages.INFO)
            self.message_user(
                request,
                f"{'Dry run: ' if record.dry_run else ''}{record.taken_in} taken in, {record.still_held} still held, "
                f"{record.refused} refused (redrive {record.pk}).",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Replay held messages",
            "messages_held": held,
            "count": count,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "selected": queryset.values_list("pk", flat=True),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/replay_confirm.html", context)


class HeldFilter(admin.SimpleListFilter):
    title = "held"
    parameter_name = "held"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "held (parked or unknown)")]

    def queryset(self, request: Any, queryset: QuerySet[InboxEvent]) -> QuerySet[InboxEvent]:
        return queryset.filter(status__in=HELD_STATUSES) if self.value() == "yes" else queryset


@admin.register(InboxEvent)
class InboxEventAdmin(ReplayAdmin):
    list_display = ["event_id", "event_type", "schema_version", "aggregate_id", "sequence", "status", "received_at"]
    list_filter = [HeldFilter, "status", "event_type"]
    search_fields = ["=event_id"]
    readonly_fields = ["reason", "raw"]
    change_list_template = "admin/notifications/inboxevent/change_list.html"

    held = staticmethod(of_inbox)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, extra_context={**(extra_context or {}), "held": held_summary()})

    def replayable(self, queryset: QuerySet[InboxEvent]) -> QuerySet[InboxEvent]:
        return queryset.filter(status__in=HELD_STATUSES)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "project_id", "recipient", "subject", "created_at"]
    list_filter = ["event_type"]


class ResolvedFilter(admin.SimpleListFilter):
    title = "resolved"
    parameter_name = "resolved"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "not yet"), ("yes", "taken in by a replay")]

    def queryset(self, request: Any, queryset: QuerySet[PoisonMessage]) -> QuerySet[PoisonMessage]:
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


@admin.register(PoisonMessage)
class PoisonMessageAdmin(ReplayAdmin):
    list_display = ["message_id", "attempts", "dead_lettered", "replays", "resolved_at", "last_seen_at", "last_error"]
    list_filter = [ResolvedFilter, "dead_lettered"]
    search_fields = ["=message_id"]

    held = staticmethod(of_poison)


@admin.register(Redrive)
class RedriveAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor", "dry_run", "matched", "taken_in", "still_held", "refused", "reason"]
    list_filter = ["dry_run"]
    search_fields = ["actor", "reason"]


class OpenFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "open"), ("no", "closed")]

    def queryset(self, request: Any, queryset: QuerySet[SequenceGap]) -> QuerySet[SequenceGap]:
        if self.value() in ("yes", "no"):
            return queryset.filter(closed_at__isnull=self.value() == "yes")
        return queryset


@admin.register(SequenceGap)
class SequenceGapAdmin(ReadOnlyAdmin):
    """Sequences that had not arrived when a later one of their aggregate took effect; closed when they arrive."""

    list_display = ["aggregate_type", "aggregate_id", "sequence", "opened_at", "closed_at", "closed_by"]
    list_filter = [OpenFilter, "aggregate_type"]
    search_fields = ["=aggregate_id"]


@admin.register(AggregateCursor)
class AggregateCursorAdmin(ReadOnlyAdmin):
    list_display = ["aggregate_type", "aggregate_id", "applied", "updated_at"]
    list_filter = ["aggregate_type"]
    search_fields = ["=aggregate_id"]


@admin.register(ProjectAccess)
class ProjectAccessAdmin(admin.ModelAdmin):
    """Grant a non-staff API account one project's notifications and deliveries (notifications.access)."""

    list_display = ["user", "project_id", "granted_at", "granted_by"]
    list_filter = ["user"]
    search_fields = ["user__username", "project_id"]
    autocomplete_fields = ["user"]
    readonly_fields = ["granted_at", "granted_by"]

    def save_model(self, request: Any, obj: ProjectAccess, form: Any, change: bool) -> None:
        if not change:
            obj.granted_by = request.user.get_username()
        super().save_model(request, obj, form, change)


from notifications.delivery import admin as delivery_admin  # noqa: E402, F401 - registers the delivery side's
