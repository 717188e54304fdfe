"""factory_boy factories for the projects models (they go through save(), so events are written)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from projects.models import GeneratedProject, Project, ProjectFile


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"project {n}")
    notification_email = "team@example.com"
    webhook_url = "https://hooks.example.com/codegen"


class GeneratedProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GeneratedProject

    project = factory.SubFactory(ProjectFactory)


class ProjectFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectFile

    generated_project = factory.SubFactory(GeneratedProjectFactory)
    path = factory.Sequence(lambda n: f"src/module_{n}.py")
    file_size = 100
