"""Admin: the notifier's tables read-only; held messages (poison, parked, unknown) with a replay action; the
delivery side's in ``notifications.delivery.admin``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from codegen_config.commands import plural
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
from notifications.operations.admin_actions import (
    ReadOnlyAdmin,
    action_confirm,
    actor_of,
    form_applied,
    list_text,
    list_time,
    outcome_report,
)
from notifications.operations.redrive import TAKEN_IN, HeldMessage, held_replay, held_summary, of_inbox, of_poison

#: The most messages one admin replay takes (in the request);
#: more go through ``manage.py poison replay``.
ADMIN_REPLAY_MAX = 50


class ReplayAdmin(ReadOnlyAdmin):
    """A read-only admin whose rows are held messages an operator can replay (reason required, audited)."""

    actions = ["replay_selected"]

    #: The held message a row stands for.
    held: Callable[[Any], HeldMessage]

    def replayable(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The selected rows a replay takes."""
        return queryset

    @admin.action(description="Replay selected messages…", permissions=["operate"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        selected = queryset.count()
        queryset = self.replayable(queryset)
        count = queryset.count()
        if count > ADMIN_REPLAY_MAX:
            self.message_user(
                request, f"Select at most {ADMIN_REPLAY_MAX}; use `manage.py poison replay` for more.", messages.ERROR
            )
            return None
        if count < selected:
            left = plural(selected - count, "selected message is", "selected messages are")
            self.message_user(request, f"{left} not held (taken in already): left alone.", messages.WARNING)
            if not count:
                return None
        held = [self.held(obj) for obj in queryset]
        form, applied = form_applied(request)
        if not applied:
            return action_confirm(
                self, request, queryset, action="replay_selected", verb="Replay", form=form,
                intro=f"{plural(count, 'message')} will be taken in again through the inbox (one effect each, "
                "however often replayed).",
                items=[f"{m.id} ({m.kind}) {m.event_type}{f' v{m.schema_version}' if m.schema_version else ''}: "
                       f"{m.reason[:120]}" for m in held],
            )  # fmt: skip
        replayed = held_replay(
            messages=held, reason=form.cleaned_data["reason"], actor=actor_of(request), source="admin",
            selection={"admin": self.model._meta.model_name, "ids": [m.id for m in held]},
            dry_run=form.cleaned_data["dry_run"],
        )  # fmt: skip
        noun = "event" if self.model is InboxEvent else "message"  # the admin capitalises a message's first letter
        for message_id, (outcome, why) in replayed.outcomes.items():
            level = messages.INFO if outcome == TAKEN_IN else messages.WARNING
            self.message_user(request, f"{noun} {message_id}: {outcome} ({why})", level)
        record = replayed.redrive
        summary = (
            f"{'Dry run: ' if record.dry_run else ''}{record.taken_in} taken in, {record.still_held} still held, "
            f"{record.refused} refused (redrive {record.pk})."
        )
        outcome_report(self, request, summary, refused=record.still_held + record.refused)
        return None


class HeldFilter(admin.SimpleListFilter):
    title = "held"
    parameter_name = "held"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "held (parked or unknown)")]

    def queryset(self, request: Any, queryset: QuerySet[InboxEvent]) -> QuerySet[InboxEvent]:
        return queryset.filter(status__in=HELD_STATUSES) if self.value() == "yes" else queryset


@admin.register(InboxEvent)
class InboxEventAdmin(ReplayAdmin):
    """The inbox: one row per event ever received; held ones (parked, unknown) are resumed by the replay."""

    list_display = ["event_id", "event", "aggregate", "seq", "status", "received"]
    list_filter = [HeldFilter, "status", "event_type", "late"]
    search_fields = ["=event_id", "=aggregate_id", "event_type"]
    readonly_fields = ["reason", "raw"]
    change_list_template = "admin/notifications/inboxevent/change_list.html"

    held = staticmethod(of_inbox)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, extra_context={**(extra_context or {}), "held": held_summary()})

    def replayable(self, queryset: QuerySet[InboxEvent]) -> QuerySet[InboxEvent]:
        return queryset.filter(status__in=HELD_STATUSES)

    @admin.display(description="event", ordering="event_type")
    def event(self, row: InboxEvent) -> str:
        return f"{row.event_type} v{row.schema_version}"

    def get_list_display(self, request: HttpRequest) -> list[str]:
        held = request.GET.get("held") == "yes" or request.GET.get("status__exact") in HELD_STATUSES
        # held rows: why they are held, in place of where and when they arrived
        return ["event_id", "event", "status", "short_reason"] if held else list(self.list_display)

    @admin.display(description="aggregate", ordering="aggregate_id")
    def aggregate(self, row: InboxEvent) -> str:
        return list_text(f"{row.aggregate_type}:{row.aggregate_id}", 24)

    @admin.display(description="seq", ordering="sequence")
    def seq(self, row: InboxEvent) -> int:
        return row.sequence

    @admin.display(description="received", ordering="received_at")
    def received(self, row: InboxEvent) -> str:
        return list_time(row.received_at)

    @admin.display(description="reason")
    def short_reason(self, row: InboxEvent) -> str:
        return list_text(row.reason, 48)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "project_id", "recipient", "channel", "subject", "created_at"]
    list_filter = ["event_type", "channel"]
    search_fields = ["=project_id", "recipient", "subject", "=event__event_id"]


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
    list_display = [
        "message_id", "event_type", "attempts", "replays", "last_seen", "short_error",
    ]  # fmt: skip
    list_filter = [ResolvedFilter, "dead_lettered"]
    search_fields = ["=message_id", "last_error", "body"]

    held = staticmethod(of_poison)

    def replayable(self, queryset: QuerySet[PoisonMessage]) -> QuerySet[PoisonMessage]:
        return queryset.filter(resolved_at__isnull=True)

    @admin.display(description="event type")
    def event_type(self, record: PoisonMessage) -> str:
        return of_poison(record).event_type or "-"

    @admin.display(description="last error")
    def short_error(self, record: PoisonMessage) -> str:
        return list_text(record.last_error, 28)

    @admin.display(description="last seen", ordering="last_seen_at")
    def last_seen(self, record: PoisonMessage) -> str:
        return list_time(record.last_seen_at)


@admin.register(Redrive)
class RedriveAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "created_at", "actor", "source", "dry_run", "matched", "taken_in", "still_held", "refused",
        "short_reason",
    ]  # fmt: skip
    list_filter = ["dry_run", "source"]
    search_fields = ["actor", "reason"]

    @admin.display(description="reason")
    def short_reason(self, record: Redrive) -> str:
        return list_text(record.reason)


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
    """Grant a non-staff API account one project's notifications and deliveries (notifications.api.access)."""

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
