"""Admin of the delivery side: deliveries with every attempt, webhook endpoints with disable, enable and recover
(reason required, audited), and the log of those actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from codegen_config.commands import plural
from notifications.delivery.recovery import endpoint_act
from notifications.delivery.retries import RETRY_MAX, DeliverySelection, deliveries_retry
from notifications.errors import NothingMatched
from notifications.models import Delivery, DeliveryAttempt, DeliveryRetry, EndpointAction, WebhookEndpoint
from notifications.operations.admin_actions import (
    ReadOnlyAdmin,
    ReasonForm,
    action_confirm,
    actor_of,
    form_applied,
    list_text,
    list_time,
    outcome_report,
)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_body", "next_attempt_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Every e-mail and webhook send, with its attempts; failed or pending ones can be retried (audited)."""

    list_display = [
        "id", "channel", "event_type", "short_target", "status", "attempts", "next_attempt", "short_error",
    ]  # fmt: skip
    list_filter = ["status", "channel", "event__event_type"]
    search_fields = ["target", "=event__event_id", "=endpoint__project_id", "last_error"]
    list_select_related = ["event"]
    inlines = [DeliveryAttemptInline]
    actions = ["retry"]

    @admin.display(description="event type", ordering="event__event_type")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.event_type

    @admin.display(description="target", ordering="target")
    def short_target(self, delivery: Delivery) -> str:
        return list_text(delivery.target, 28)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: Delivery) -> str:
        return list_time(delivery.next_attempt_at) if delivery.status == "pending" else "-"

    @admin.display(description="last error")
    def short_error(self, delivery: Delivery) -> str:
        return list_text(delivery.last_error, 32)

    @admin.action(description="Retry selected deliveries (due now, a fresh schedule)…", permissions=["operate"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> HttpResponse | None:
        ids = tuple(queryset.values_list("pk", flat=True)[: RETRY_MAX + 1])
        if len(ids) > RETRY_MAX:
            self.message_user(request, f"Select at most {RETRY_MAX}.", messages.ERROR)
            return None
        form, applied = form_applied(request)
        if not applied:
            return action_confirm(
                self, request, queryset, action="retry", verb="Retry", form=form,
                intro=f"{plural(len(ids), 'delivery', 'deliveries')} will be made due now on a fresh retry schedule "
                "(delivered ones, and any being sent right now, are left alone); the delivery workers send them.",
                items=[f"#{d.pk} {d.channel} to {d.target} ({d.status})" for d in queryset[:50]],
            )  # fmt: skip
        try:
            record, _ = deliveries_retry(
                selection=DeliverySelection(status=None, ids=ids, limit=RETRY_MAX),
                reason=form.cleaned_data["reason"], actor=actor_of(request), source="admin",
                dry_run=form.cleaned_data["dry_run"],
            )  # fmt: skip
        except NothingMatched as exc:
            self.message_user(request, f"Refused: {exc}.", messages.WARNING)
            return None
        left = len(ids) - (record.matched if record.dry_run else record.made_due)
        summary = record.summary() + "." + (
            f" {plural(left, 'selected delivery', 'selected deliveries')} left alone: delivered, or being sent "
            "right now." if left else ""
        )  # fmt: skip
        outcome_report(self, request, summary, refused=left)
        return None


class RecoverForm(ReasonForm):
    since = forms.DateTimeField(
        help_text="resend what failed at or after this time (e.g. 2026-12-05 08:00, UTC)",
        initial=lambda: timezone.now() - timedelta(days=1),
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "project_id", "url", "state", "consecutive_failures", "failing_since", "last_success_at",
        "last_failure_at", "short_reason",
    ]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["url", "=project_id"]
    actions = ["disable", "enable", "recover"]

    @admin.display(description="state reason")
    def short_reason(self, endpoint: WebhookEndpoint) -> str:
        return list_text(endpoint.state_reason)

    @admin.action(description="Disable selected endpoints…", permissions=["operate"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "disable", "Disable", ReasonForm)

    @admin.action(description="Enable selected endpoints…", permissions=["operate"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "enable", "Enable", ReasonForm)

    @admin.action(description="Recover what failed since a time…", permissions=["operate"])
    def recover(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "recover", "Recover", RecoverForm)

    def _act(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint], action: str, verb: str,
        form_class: type[forms.Form],
    ) -> HttpResponse | None:  # fmt: skip
        form, applied = form_applied(request, form_class)
        if not applied:
            return action_confirm(
                self, request, queryset, action=action, verb=verb, form=form,
                intro=f"{verb} {plural(queryset.count(), 'webhook endpoint')}.",
                items=[f"project {e.project_id}: {e.url} ({e.state} {e.state_reason[:120]})".replace(" )", ")")
                       for e in queryset],
            )  # fmt: skip
        for endpoint in queryset:
            try:
                record = endpoint_act(
                    endpoint, action=action, actor=actor_of(request), reason=form.cleaned_data["reason"],
                    since=form.cleaned_data.get("since"), dry_run=form.cleaned_data["dry_run"],
                )  # fmt: skip
            except ValueError as exc:
                self.message_user(request, f"Endpoint {endpoint.pk} ({endpoint.url}): refused: {exc}", messages.WARNING)
                continue
            self.message_user(request, f"Endpoint {endpoint.pk} ({endpoint.url}): {record.summary()}", messages.SUCCESS)
        return None


@admin.register(DeliveryRetry)
class DeliveryRetryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor", "source", "dry_run", "matched", "made_due", "short_reason"]
    list_filter = ["dry_run", "source"]
    search_fields = ["actor", "reason"]

    @admin.display(description="reason")
    def short_reason(self, record: DeliveryRetry) -> str:
        return list_text(record.reason)


@admin.register(EndpointAction)
class EndpointActionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "action", "endpoint", "actor", "dry_run", "since", "matched", "reason"]
    list_filter = ["action", "dry_run"]
    search_fields = ["actor", "reason", "endpoint__url"]
