"""Query-string filters of the projects API; an id beyond what a database id can be is a 400, not a 500."""

import django_filters

from codegen_api.filters import IdFilter
from projects.models import GeneratedProject, RepositoryExport
from projects.transitions import ExportStatus, GenerationStatus, choices


class GeneratedProjectFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    status = django_filters.ChoiceFilter(choices=choices(GenerationStatus))

    class Meta:
        model = GeneratedProject
        fields = ["project", "status"]


class RepositoryExportFilter(django_filters.FilterSet):
    generated_project = IdFilter(field_name="generated_project_id")
    status = django_filters.ChoiceFilter(choices=choices(ExportStatus))

    class Meta:
        model = RepositoryExport
        fields = ["generated_project", "status"]
