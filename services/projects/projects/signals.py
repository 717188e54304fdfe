"""Signal receivers of the projects app: the one implicit step, connected in ``ProjectsConfig.ready``.

- ``pre_save`` GeneratedProject / RepositoryExport: lock the row and validate the status
  transition (InvalidTransition, a ValueError, for an invalid one).
- ``post_save`` GeneratedProject / RepositoryExport: write the event to the outbox, in the same
  transaction (the models' ``save()`` opens one).
- ``pre_save`` / ``post_save`` / ``post_delete`` ProjectFile: keep the generated project's
  ``total_files`` and ``total_size`` exact, O(1) per file.

Fixtures (``raw=True``) are loaded as they are: no validation, no events, no totals.
Each receiver hands off to ``projects.lifecycle``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from projects import lifecycle
from projects.models import GeneratedProject, ProjectFile, RepositoryExport


@receiver(pre_save, sender=GeneratedProject, dispatch_uid="projects.generated_project.pre_save")
@receiver(pre_save, sender=RepositoryExport, dispatch_uid="projects.repository_export.pre_save")
def evented_pre_save(sender: Any, instance: Any, raw: bool, using: str, update_fields: Any, **kwargs: Any) -> None:
    if raw:
        return
    lifecycle.evented_pre_save(instance, using=using, update_fields=update_fields)


@receiver(post_save, sender=GeneratedProject, dispatch_uid="projects.generated_project.post_save")
@receiver(post_save, sender=RepositoryExport, dispatch_uid="projects.repository_export.post_save")
def evented_post_save(sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
    if raw:
        return
    lifecycle.evented_post_save(instance, using=using)


@receiver(pre_save, sender=ProjectFile, dispatch_uid="projects.project_file.pre_save")
def file_pre_save(sender: Any, instance: ProjectFile, raw: bool, using: str, **kwargs: Any) -> None:
    if raw:
        return
    lifecycle.file_pre_save(instance, using=using)


@receiver(post_save, sender=ProjectFile, dispatch_uid="projects.project_file.post_save")
def file_post_save(sender: Any, instance: ProjectFile, created: bool, raw: bool, using: str, **kwargs: Any) -> None:
    if raw:
        return
    lifecycle.file_post_save(instance, created=created, using=using)


@receiver(post_delete, sender=ProjectFile, dispatch_uid="projects.project_file.post_delete")
def file_post_delete(sender: Any, instance: ProjectFile, using: str, origin: Any = None, **kwargs: Any) -> None:
    lifecycle.file_post_delete(instance, origin=origin, using=using)
