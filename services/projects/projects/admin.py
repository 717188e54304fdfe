"""Admin: status edits obey the state machines and emit events like every other path."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from projects.errors import ProjectsError
from projects.lifecycle import export_creation_check, status_change
from projects.models import GeneratedProject, Project, ProjectFile, RepositoryExport


class EventedAdminForm(forms.ModelForm):
    """Shows an invalid status change as a form error instead of failing the save."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        model = self._meta.model
        new_status = cleaned.get("status")
        if new_status is None:
            return cleaned
        old_status = None
        if self.instance.pk is not None:
            old_status = model._base_manager.filter(pk=self.instance.pk).values_list("status", flat=True).first()
        try:
            # the lifecycle's own rule; the save checks it again under the row lock
            status_change(model, old_status, new_status, explicit=False)
        except ProjectsError as exc:
            self.add_error("status", str(exc))
        if model is RepositoryExport and self.instance.pk is None and cleaned.get("generated_project"):
            try:
                # the admin's change view runs in a transaction, so the row lock holds to the save
                export_creation_check(RepositoryExport(generated_project=cleaned["generated_project"]), using="default")
            except ProjectsError as exc:
                self.add_error("generated_project", str(exc))
        return cleaned


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "notification_email", "created_at"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]


@admin.register(GeneratedProject)
class GeneratedProjectAdmin(admin.ModelAdmin):
    form = EventedAdminForm
    list_display = ["id", "project", "status", "total_files", "total_size", "updated_at"]
    list_filter = ["status"]
    readonly_fields = ["total_files", "total_size", "event_sequence", "created_at", "updated_at"]
    raw_id_fields = ["project"]


@admin.register(ProjectFile)
class ProjectFileAdmin(admin.ModelAdmin):
    list_display = ["id", "generated_project", "path", "file_size"]
    search_fields = ["path"]
    readonly_fields = ["generated_project", "path", "file_size", "created_at", "updated_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(RepositoryExport)
class RepositoryExportAdmin(admin.ModelAdmin):
    form = EventedAdminForm
    list_display = ["id", "generated_project", "repository_url", "status", "updated_at"]
    list_filter = ["status"]
    readonly_fields = ["event_sequence", "created_at", "updated_at"]
    raw_id_fields = ["generated_project"]
