"""Reads of the projects domain, always scoped to the requesting owner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from projects.models import GeneratedProject, Project, ProjectFile, RepositoryExport


def projects_owned(*, owner: Any) -> QuerySet[Project]:
    """Projects of ``owner``."""
    return Project.objects.filter(owner=owner)


def generated_projects_owned(*, owner: Any) -> QuerySet[GeneratedProject]:
    """Generated projects of ``owner``'s projects, with the project loaded for event payloads."""
    return GeneratedProject.objects.filter(project__owner=owner).select_related("project")


def project_files_of(*, generated_project: GeneratedProject) -> QuerySet[ProjectFile]:
    """Files of one generated project."""
    return ProjectFile.objects.filter(generated_project=generated_project)


def repository_exports_owned(*, owner: Any) -> QuerySet[RepositoryExport]:
    """Exports of ``owner``'s generated projects, with what event payloads need loaded."""
    return RepositoryExport.objects.filter(generated_project__project__owner=owner).select_related(
        "generated_project__project"
    )
