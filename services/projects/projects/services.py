"""Writes of the projects domain: every REST, admin and command path goes through these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from projects.errors import DuplicateFilePath, NotWritable
from projects.lifecycle import evented_transition
from projects.models import GeneratedProject, Project, ProjectFile, RepositoryExport
from projects.transitions import GENERATION_FILES_WRITABLE, ExportStatus


@dataclass(frozen=True)
class FileSpec:
    """A file to add: a normalized relative path and its size in bytes."""

    path: str
    file_size: int


def project_create(*, owner: AbstractBaseUser, **fields: Any) -> Project:
    """Create a project owned by ``owner``."""
    return Project.objects.create(owner=owner, **fields)


def project_update(*, project: Project, **fields: Any) -> Project:
    """Change a project's editable fields."""
    for name, value in fields.items():
        setattr(project, name, value)
    project.save(update_fields=[*fields, "updated_at"])
    return project


def project_delete(*, project: Project) -> None:
    """Delete a project with its generated projects, files and exports."""
    project.delete()


def generated_project_create(*, project: Project) -> GeneratedProject:
    """Start a generated project (status pending); emits ``generation.started``."""
    generated_project = GeneratedProject(project=project)
    generated_project.save()
    return generated_project


def generated_project_transition(*, generated_project: GeneratedProject, to_status: str) -> GeneratedProject:
    """Move a generated project to ``to_status``; emits its event.

    Raises InvalidTransition when the state machine forbids it (checked under a row lock, so
    of several concurrent conflicting requests exactly one wins).
    """
    evented_transition(generated_project, to_status=to_status, update_fields=[])
    return generated_project


def _generated_project_lock_writable(generated_project: GeneratedProject) -> None:
    status = (
        GeneratedProject.objects.select_for_update()
        .filter(pk=generated_project.pk)
        .values_list("status", flat=True)
        .get()
    )
    if status not in GENERATION_FILES_WRITABLE:
        raise NotWritable(f"files cannot change once the generated project is {status}")


def project_files_create(*, generated_project: GeneratedProject, files: Sequence[FileSpec]) -> list[ProjectFile]:
    """Add files to a generated project, all or nothing, moving its totals once.

    Raises DuplicateFilePath for a path given twice or already stored, NotWritable when the
    generated project is past generating.
    """
    seen: dict[str, int] = {}
    for index, spec in enumerate(files):
        if spec.path in seen:
            raise DuplicateFilePath(spec.path, index, "is given twice in this request")
        seen[spec.path] = index
    try:
        with transaction.atomic():
            _generated_project_lock_writable(generated_project)
            stored = ProjectFile.objects.filter(generated_project=generated_project, path__in=list(seen)).values_list(
                "path", flat=True
            )
            for path in stored:
                raise DuplicateFilePath(path, seen[path], "already exists in this generated project")
            return ProjectFile.objects.bulk_create(
                [ProjectFile(generated_project=generated_project, path=s.path, file_size=s.file_size) for s in files]
            )
    except IntegrityError as exc:  # a concurrent request stored one of the paths first
        raise DuplicateFilePath(None, None, "was stored concurrently by another request") from exc


def project_file_delete(*, project_file: ProjectFile) -> None:
    """Delete a file and take it off its generated project's totals."""
    with transaction.atomic():
        _generated_project_lock_writable(project_file.generated_project)
        project_file.delete()


def repository_export_create(*, generated_project: GeneratedProject, repository_url: str) -> RepositoryExport:
    """Request an export of a completed generated project; emits ``export.requested``.

    Raises NotWritable unless the generated project is completed.
    """
    export = RepositoryExport(generated_project=generated_project, repository_url=repository_url)
    export.save()
    return export


def repository_export_transition(*, export: RepositoryExport, to_status: str, error: str = "") -> RepositoryExport:
    """Move an export to ``to_status`` (with ``error`` when it failed); emits its event.

    Raises InvalidTransition when the state machine forbids it.
    """
    fields = []
    if to_status == ExportStatus.FAILED:
        export.error = error
        fields.append("error")
    evented_transition(export, to_status=to_status, update_fields=fields)
    return export


def generated_projects_recount(
    *, ids: Iterable[int] | None = None, fix: bool, chunk: int = 500
) -> list[dict[str, int]]:
    """Compare stored totals with the files; with ``fix``, repair them. Returns the drifted rows.

    Works in chunks of generated projects, each in its own short transaction; with ``fix`` the
    chunk's rows are locked first, so concurrent file writes queue behind the repair and then
    apply their own increments on top of the corrected totals.
    """
    queryset = GeneratedProject.objects.order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    drifted: list[dict[str, int]] = []
    last_pk = 0
    while True:
        with transaction.atomic():
            page = queryset.filter(pk__gt=last_pk)
            pks = list((page.select_for_update() if fix else page).values_list("pk", flat=True)[:chunk])
            if not pks:
                return drifted
            last_pk = pks[-1]
            rows = (
                GeneratedProject.objects.filter(pk__in=pks)
                .annotate(counted_files=Count("files"), counted_size=Coalesce(Sum("files__file_size"), 0))
                .values("pk", "total_files", "total_size", "counted_files", "counted_size")
                .order_by("pk")
            )
            for row in rows:
                if row["total_files"] != row["counted_files"] or row["total_size"] != row["counted_size"]:
                    drifted.append(row)
                    if fix:
                        GeneratedProject.objects.filter(pk=row["pk"]).update(
                            total_files=row["counted_files"], total_size=row["counted_size"]
                        )
