"""Serializers: parse and format only; the rules live in services, lifecycle and transitions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from codegen_api.errors import ReferenceNotFound
from codegen_api.filters import MAX_ID
from codegen_api.serializers import ClosedMixin, StrictIntegerField
from codegen_contracts.targets import email_address_problem, webhook_url_problem
from projects.api.fields import WholeBodyMixin
from projects.errors import InvalidFilePath
from projects.models import GeneratedProject, Project, ProjectFile, RepositoryExport
from projects.paths import project_file_path_normalize
from projects.transitions import ExportStatus, GenerationStatus, choices


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class OwnedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """The id of an object the requesting user owns: a JSON integer from 1 to 2**63 - 1 (else a 400); an
    object that does not exist or is someone else's is a 404 naming the field (codegen_api.errors)."""

    def __init__(self, owner_path: str, **kwargs: Any) -> None:
        self.owner_path = owner_path
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context["request"]
        return super().get_queryset().filter(**{self.owner_path: request.user})

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            raise serializers.ValidationError(f"Must be an id from 1 to {MAX_ID}.")
        found = self.get_queryset().filter(pk=data).first()
        if found is None:
            name = self.queryset.model._meta.verbose_name
            raise ReferenceNotFound(self.field_name, f"No {name} {data} is visible to this account.")
        return found


def _webhook_url_deliverable(value: str) -> None:
    """The notifier's rule for webhook targets, as far as it goes without DNS (codegen_contracts.targets)."""
    problem = webhook_url_problem(value, allow_loopback=settings.PROJECTS["WEBHOOK_ALLOW_LOOPBACK"])
    if problem:
        raise serializers.ValidationError(f"the notifier would refuse this webhook URL: {problem}")


def _email_deliverable(value: str) -> None:
    problem = email_address_problem(value)
    if problem:
        raise serializers.ValidationError(f"the notifier would not deliver to this address: {problem}")


@extend_schema_field({"type": "string", "format": "webhook-url", "minLength": 1, "maxLength": 2048})
class WebhookUrlField(serializers.URLField):
    """An http(s) URL the notifier would deliver to (format ``webhook-url``: no credentials, a port
    from 1 to 65535, no literal non-public address; README, "Bad input")."""


@extend_schema_field({"type": "string", "format": "repository-url", "minLength": 1, "maxLength": 2048})
class RepositoryUrlField(serializers.CharField):
    """A repository URL (format ``repository-url``: https, http, ssh or git, with a host)."""


@extend_schema_field({"type": "string", "format": "project-file-path", "minLength": 1})
class ProjectFilePathField(serializers.CharField):
    """A file path (format ``project-file-path``: relative, portable; the rules of projects.paths)."""


class ProjectSerializer(ClosedMixin, serializers.ModelSerializer):
    """A project: where its notifications go."""

    webhook_url = WebhookUrlField(
        max_length=2048,
        required=False,
        allow_blank=True,
        validators=[URLValidator(schemes=["http", "https"]), _webhook_url_deliverable],
    )
    notification_email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, validators=[_email_deliverable]
    )

    class Meta:
        model = Project
        fields = ["id", "owner", "name", "description", "notification_email", "webhook_url", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]


class WebhookSecretSerializer(serializers.Serializer):
    """A project's webhook secret (Standard Webhooks: verify each webhook's signature with it)."""

    secret = serializers.CharField(help_text="whsec_ and the base64 of the key")
    version = serializers.IntegerField(min_value=1, help_text="raised by each rotation")
    rotated_at = serializers.DateTimeField(allow_null=True, help_text="when it was last rotated; null if never")
    previous_valid_until = serializers.DateTimeField(
        allow_null=True,
        help_text="until when webhooks also carry the previous secret's signature; null when they no longer do",
    )


class GeneratedProjectSerializer(ClosedMixin, serializers.ModelSerializer):
    """One generation of a project, with its file totals."""

    project = OwnedPrimaryKeyField(owner_path="owner", queryset=Project.objects.all())

    class Meta:
        model = GeneratedProject
        fields = ["id", "project", "status", "total_files", "total_size", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "total_files", "total_size", "created_at", "updated_at"]


class GeneratedProjectTransitionSerializer(WholeBodyMixin, ClosedMixin, serializers.Serializer):
    """The status to move a generated project to."""

    status = serializers.ChoiceField(choices=choices(GenerationStatus))


class ProjectFileSerializer(ClosedMixin, serializers.ModelSerializer):
    """One file of a generated project."""

    path = ProjectFilePathField(max_length=settings.PROJECTS["MAX_PATH_BYTES"])
    file_size = StrictIntegerField(min_value=0, max_value=settings.PROJECTS["MAX_FILE_SIZE"])

    class Meta:
        model = ProjectFile
        fields = ["id", "path", "file_size", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_path(self, value: str) -> str:
        try:
            return project_file_path_normalize(value, max_bytes=settings.PROJECTS["MAX_PATH_BYTES"])
        except InvalidFilePath as exc:
            raise serializers.ValidationError(str(exc)) from None


def project_file_bulk_serializer(**kwargs: Any) -> serializers.ListSerializer:
    """A list of files, non-empty and at most PROJECTS["MAX_BULK_FILES"] long."""
    return ProjectFileSerializer(many=True, allow_empty=False, max_length=settings.PROJECTS["MAX_BULK_FILES"], **kwargs)


class RepositoryExportSerializer(ClosedMixin, serializers.ModelSerializer):
    """An export of a completed generated project to a repository."""

    generated_project = OwnedPrimaryKeyField(owner_path="project__owner", queryset=GeneratedProject.objects.all())
    repository_url = RepositoryUrlField(
        max_length=2048, validators=[URLValidator(schemes=["https", "http", "ssh", "git"])]
    )

    class Meta:
        model = RepositoryExport
        fields = ["id", "generated_project", "repository_url", "status", "error", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "error", "created_at", "updated_at"]


class RepositoryExportTransitionSerializer(WholeBodyMixin, ClosedMixin, serializers.Serializer):
    """The status to move an export to (with the error when it failed)."""

    status = serializers.ChoiceField(choices=choices(ExportStatus))
    error = serializers.CharField(max_length=10_000, required=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        failed = attrs["status"] == ExportStatus.FAILED
        if failed and not attrs.get("error"):
            raise serializers.ValidationError({"error": ["Required when the status is failed."]})
        if not failed and "error" in attrs:
            raise serializers.ValidationError({"error": ["Only allowed when the status is failed."]})
        return attrs
