"""Query-string filters of the projects API; an id beyond what a database id can be is a 400, not a 500."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from projects.models import GeneratedProject, RepositoryExport
from projects.transitions import ExportStatus, GenerationStatus, choices

#: The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number from 1 to 2**63 - 1 (no fraction, no exponent)."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)  # type: ignore[arg-type]


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
