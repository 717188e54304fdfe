"""What the notifier's admin pages share: read-only lists on one line per row, the reason-and-dry-run form
of every operator action, its confirmation page, and how an action's outcome is reported (refusals as
warnings, never as green successes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

#: Characters of a long text (an error, a reason) shown in a list; the whole text is the cell's title.
LIST_TEXT_MAX = 40


class ReasonForm(forms.Form):
    """Why, and whether only to say what would happen: every operator action asks both."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)
    dry_run = forms.BooleanField(required=False, label="Dry run: say what would happen, change nothing")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are records: listed and read, never added, edited or deleted by hand."""

    class Media:
        css = {"all": ["notifications/admin.css"]}

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Staff may run the operator actions (each asks a reason and is recorded)."""
        return bool(request.user.is_active and request.user.is_staff)


def list_text(text: str, most: int = LIST_TEXT_MAX) -> str:
    """A long text cut to ``most`` characters for a list cell, whole in the cell's title."""
    if len(text) <= most:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: most - 1])


def list_time(moment: datetime | None) -> str:
    """A time in a list cell: compact, in UTC, to the second."""
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def action_confirm(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any], *, action: str, verb: str,
    intro: str, items: Iterable[str], form: forms.Form,
) -> TemplateResponse:  # fmt: skip
    """The page that asks the reason (and offers a dry run) before ``action`` acts on the selected rows."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{verb} {model_admin.model._meta.verbose_name_plural}",
        "intro": intro,
        "items": list(items),
        "verb": verb,
        "action": action,
        "form": form,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "selected": queryset.values_list("pk", flat=True),
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/notifications/action_confirm.html", context)


def form_applied(request: HttpRequest, form_class: type[forms.Form] = ReasonForm) -> tuple[forms.Form, bool]:
    """The action's form, bound when the confirmation page was submitted; and whether it is valid."""
    form = form_class(request.POST if "apply" in request.POST else None)
    return form, "apply" in request.POST and form.is_valid()


def outcome_report(model_admin: admin.ModelAdmin, request: HttpRequest, summary: str, *, refused: int) -> None:
    """The action's summary: a success when nothing was refused, else a warning."""
    model_admin.message_user(request, summary, messages.WARNING if refused else messages.SUCCESS)


def actor_of(request: HttpRequest) -> str:
    """Who acts, as recorded."""
    return str(request.user.get_username())
