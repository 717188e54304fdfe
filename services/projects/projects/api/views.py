"""REST views: decode the request, call one service, format the answer."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from codegen_api.schema import CONFLICT, REFERENCE_NOT_FOUND
from projects import selectors, services, webhook_secrets
from projects.api.filters import GeneratedProjectFilter, RepositoryExportFilter
from projects.api.serializers import (
    GeneratedProjectSerializer,
    GeneratedProjectTransitionSerializer,
    ProjectFileSerializer,
    ProjectSerializer,
    RepositoryExportSerializer,
    RepositoryExportTransitionSerializer,
    WebhookSecretSerializer,
    project_file_bulk_serializer,
)
from projects.models import GeneratedProject, ProjectFile


class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.projects_owned(owner=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.project_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.project_update(project=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Any) -> None:
        services.project_delete(project=instance)

    @extend_schema(
        request=None,
        responses={200: WebhookSecretSerializer},
        description="The secret that signs this project's webhooks (Standard Webhooks). Only its owner reads it.",
    )
    @action(detail=True, methods=["get"], url_path="webhook-secret")
    def webhook_secret(self, request: Request, pk: Any = None) -> Response:
        secret = webhook_secrets.project_webhook_secret(project=self.get_object())
        return Response(WebhookSecretSerializer(secret).data)

    @extend_schema(
        request=None,
        responses={200: WebhookSecretSerializer},
        description="Rotate the secret: webhooks carry the new and the previous secret's signatures until "
        "previous_valid_until (WEBHOOK_SECRET_ROTATION_GRACE), then the new one's only.",
    )
    @action(detail=True, methods=["post"], url_path="webhook-secret/rotate")
    def webhook_secret_rotate(self, request: Request, pk: Any = None) -> Response:
        secret = webhook_secrets.project_webhook_secret_rotate(project=self.get_object())
        return Response(WebhookSecretSerializer(secret).data)


@extend_schema_view(create=extend_schema(responses={201: GeneratedProjectSerializer, 404: REFERENCE_NOT_FOUND}))
class GeneratedProjectViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = GeneratedProjectSerializer
    filterset_class = GeneratedProjectFilter

    def get_queryset(self) -> Any:
        return selectors.generated_projects_owned(owner=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.generated_project_create(project=serializer.validated_data["project"])

    @extend_schema(
        request=GeneratedProjectTransitionSerializer,
        responses={200: GeneratedProjectSerializer, 409: CONFLICT},
        description="Move the generated project to another status (pending → generating → "
        "completed | failed, completed → archived).",
    )
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        generated_project = self.get_object()
        transition = GeneratedProjectTransitionSerializer(data=request.data)
        transition.is_valid(raise_exception=True)
        services.generated_project_transition(
            generated_project=generated_project, to_status=transition.validated_data["status"]
        )
        return Response(GeneratedProjectSerializer(generated_project, context=self.get_serializer_context()).data)


class ProjectFileListView(ListAPIView):
    serializer_class = ProjectFileSerializer

    def generated_project(self) -> GeneratedProject:
        owned = selectors.generated_projects_owned(owner=self.request.user)
        return get_object_or_404(owned, pk=self.kwargs["generated_project_id"])

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return ProjectFile.objects.none()
        return selectors.project_files_of(generated_project=self.generated_project())

    @extend_schema(operation_id="v1_generated_projects_files_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="v1_generated_projects_files_create",
        request=ProjectFileSerializer,
        responses={201: ProjectFileSerializer, 409: CONFLICT},
        description="Add one file (an object) or up to PROJECTS_MAX_BULK_FILES (an array), all or nothing; "
        "the answer has the same form as the body.",
    )
    def post(self, request: Request, generated_project_id: int) -> Response:
        generated_project = self.generated_project()
        many = isinstance(request.data, list)
        if many:
            serializer: Any = project_file_bulk_serializer(data=request.data, context=self.get_serializer_context())
        else:
            serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        specs = [
            services.FileSpec(**item) for item in (serializer.validated_data if many else [serializer.validated_data])
        ]
        created = services.project_files_create(generated_project=generated_project, files=specs)
        data = ProjectFileSerializer(created, many=True).data
        return Response(data if many else data[0], status=status.HTTP_201_CREATED)


class ProjectFileDetailView(GenericAPIView):
    serializer_class = ProjectFileSerializer
    queryset = ProjectFile.objects.none()  # for the schema; get_object() scopes to the owner

    def get_object(self) -> Any:
        owned = selectors.generated_projects_owned(owner=self.request.user)
        generated_project = get_object_or_404(owned, pk=self.kwargs["generated_project_id"])
        return get_object_or_404(selectors.project_files_of(generated_project=generated_project), pk=self.kwargs["pk"])

    @extend_schema(operation_id="v1_generated_projects_files_retrieve")
    def get(self, request: Request, generated_project_id: int, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(operation_id="v1_generated_projects_files_destroy", responses={204: None, 409: CONFLICT})
    def delete(self, request: Request, generated_project_id: int, pk: int) -> Response:
        services.project_file_delete(project_file=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    create=extend_schema(responses={201: RepositoryExportSerializer, 404: REFERENCE_NOT_FOUND, 409: CONFLICT})
)
class RepositoryExportViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = RepositoryExportSerializer
    filterset_class = RepositoryExportFilter

    def get_queryset(self) -> Any:
        return selectors.repository_exports_owned(owner=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.repository_export_create(**serializer.validated_data)

    @extend_schema(
        request=RepositoryExportTransitionSerializer,
        responses={200: RepositoryExportSerializer, 409: CONFLICT},
        description="Move the export on (pending → running → completed | failed, pending → failed); "
        "`error` is required with failed.",
    )
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        export = self.get_object()
        transition = RepositoryExportTransitionSerializer(data=request.data)
        transition.is_valid(raise_exception=True)
        services.repository_export_transition(
            export=export,
            to_status=transition.validated_data["status"],
            error=transition.validated_data.get("error", ""),
        )
        return Response(RepositoryExportSerializer(export, context=self.get_serializer_context()).data)
