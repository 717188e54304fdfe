import django_filters

from projects.models import GeneratedProject, RepositoryExport
from projects.transitions import ExportStatus, GenerationStatus, choices


class GeneratedProjectFilter(django_filters.FilterSet):
    project = django_filters.NumberFilter(field_name="project_id")
    status = django_filters.ChoiceFilter(choices=choices(GenerationStatus))

    class Meta:
        model = GeneratedProject
        fields = ["project", "status"]


class RepositoryExportFilter(django_filters.FilterSet):
    generated_project = django_filters.NumberFilter(field_name="generated_project_id")
    status = django_filters.ChoiceFilter(choices=choices(ExportStatus))

    class Meta:
        model = RepositoryExport
        fields = ["generated_project", "status"]
