"""Admin of the delivery side: deliveries with every attempt, webhook endpoints with disable, enable and recover
(reason required, audited), and the log of those actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from notifications.delivery.recovery import deliveries_make_due, endpoint_act
from notifications.models import Delivery, DeliveryAttempt, EndpointAction, WebhookEndpoint


class _ReadOnly:
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class DeliveryAttemptInline(_ReadOnly, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_body", "next_attempt_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["id", "channel", "target", "status", "attempts", "next_attempt_at", "last_error", "updated_at"]
    list_filter = ["status", "channel"]
    search_fields = ["target", "=event__event_id"]
    inlines = [DeliveryAttemptInline]
    actions = ["send_again"]

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Send selected deliveries again (due now, a fresh schedule)", permissions=["send"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_make_due(queryset)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} made due again; the delivery workers send them.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} left alone: delivered, or being sent right now.", messages.WARNING)


class EndpointActionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)
    dry_run = forms.BooleanField(required=False, label="Dry run: say what would happen, change nothing")


class RecoverForm(EndpointActionForm):
    since = forms.DateTimeField(
        help_text="resend what failed at or after this time (e.g. 2026-12-05 08:00, UTC)",
        initial=lambda: timezone.now() - timedelta(days=1),
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = [
        "id", "project_id", "url", "state", "consecutive_failures", "failing_since", "last_success_at",
        "last_failure_at", "state_reason",
    ]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["url", "=project_id"]
    actions = ["disable", "enable", "recover"]

    def has_act_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Disable selected endpoints…", permissions=["act"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "disable", "Disable", EndpointActionForm)

    @admin.action(description="Enable selected endpoints…", permissions=["act"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "enable", "Enable", EndpointActionForm)

    @admin.action(description="Recover what failed since a time…", permissions=["act"])
    def recover(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        return self._act(request, queryset, "recover", "Recover", RecoverForm)

    def _act(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint], action: str, verb: str, form_class: Any
    ) -> HttpResponse | None:
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for endpoint in queryset:
                try:
                    record = endpoint_act(
                        endpoint, action=action, actor=request.user.get_username(), reason=form.cleaned_data["reason"],
                        since=form.cleaned_data.get("since"), dry_run=form.cleaned_data["dry_run"],
                    )  # fmt: skip
                except ValueError as exc:
                    self.message_user(request, f"{endpoint.url}: refused: {exc}", messages.WARNING)
                    continue
                self.message_user(request, f"{endpoint.url}: {record.summary()}", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} webhook endpoints",
            "verb": verb,
            "action": action,
            "endpoints": list(queryset),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "selected": queryset.values_list("pk", flat=True),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/endpoint_action_confirm.html", context)


@admin.register(EndpointAction)
class EndpointActionAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["id", "created_at", "action", "endpoint", "actor", "dry_run", "since", "matched", "reason"]
    list_filter = ["action", "dry_run"]
    search_fields = ["actor", "reason", "endpoint__url"]
