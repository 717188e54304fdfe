"""Projects, generated projects, their files and repository exports.

Saving a GeneratedProject or a RepositoryExport emits events: ``signals.py`` writes an outbox
row in the same transaction (``save()`` opens one when the caller has not). Saving or deleting a
ProjectFile keeps its generated project's ``total_files``/``total_size`` exact.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models, router, transaction

from projects.querysets import (
    GeneratedProjectQuerySet,
    ProjectFileQuerySet,
    RepositoryExportQuerySet,
)
from projects.transitions import ExportStatus, GenerationStatus, choices


class Project(models.Model):
    """A user's project: where generated code comes from and where notifications go."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", max_length=10_000)
    notification_email = models.EmailField(blank=True, default="")
    webhook_url = models.URLField(blank=True, default="", max_length=2048)
    #: The version of the key its webhooks are signed with (``webhook_secrets``); a rotation raises it and
    #: emits ``project.webhook_secret_rotated`` (sequence: the version less one).
    webhook_key_version = models.PositiveIntegerField(default=1, editable=False)
    webhook_key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class EventedModel(models.Model):
    """A model whose status changes emit events; its writes always run in one transaction.

    Django sends ``post_save`` after its own write block, so in autocommit mode the row would
    commit before the outbox row is written. ``save()`` wraps both in ``transaction.atomic``.
    """

    #: Fields maintained by other writers (e.g. file totals): a full save never overwrites them.
    externally_maintained_fields: frozenset[str] = frozenset()

    event_sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        if not self._state.adding and not kwargs.get("force_insert"):
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                update_fields = {
                    f.name
                    for f in self._meta.concrete_fields
                    if not f.primary_key and f.name not in self.externally_maintained_fields
                }
            else:
                update_fields = set(update_fields)
                if "status" in update_fields:
                    update_fields |= {"event_sequence", "updated_at"}
            kwargs["update_fields"] = update_fields
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)


class GeneratedProject(EventedModel):
    """One generation run of a project. Saving it emits ``generation.*`` events."""

    externally_maintained_fields = frozenset({"total_files", "total_size"})

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generated_projects")
    status = models.CharField(max_length=16, choices=choices(GenerationStatus), default=GenerationStatus.PENDING)
    total_files = models.PositiveIntegerField(default=0, editable=False)
    total_size = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GeneratedProjectQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "status"], name="generated_project_status_idx")]

    def __str__(self) -> str:
        return f"generated project {self.pk} of {self.project_id} ({self.status})"


class ProjectFile(models.Model):
    """A file of a generated project; saving or deleting it moves the project's totals."""

    generated_project = models.ForeignKey(GeneratedProject, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024)
    file_size = models.PositiveBigIntegerField(validators=[MaxValueValidator(2**40)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectFileQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["generated_project", "path"], name="project_file_unique_path"),
        ]

    def __str__(self) -> str:
        return self.path

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            return super().delete(*args, **kwargs)


class RepositoryExport(EventedModel):
    """An export of a completed generated project to a repository. Saving it emits ``export.*``."""

    generated_project = models.ForeignKey(GeneratedProject, on_delete=models.CASCADE, related_name="exports")
    repository_url = models.CharField(max_length=2048)
    status = models.CharField(max_length=16, choices=choices(ExportStatus), default=ExportStatus.PENDING)
    error = models.TextField(blank=True, default="", max_length=10_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RepositoryExportQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.generated_project_id} ({self.status})"
