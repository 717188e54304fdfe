from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.projects.factories import GeneratedProjectFactory, ProjectFactory, UserFactory


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db: Any) -> Any:
    return UserFactory(username="mallory")


def client_for(user: Any) -> APIClient:
    """An API client authenticated with the user's token, as a REST client would be."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(user: Any) -> APIClient:
    return client_for(user)


@pytest.fixture
def project(user: Any) -> Any:
    return ProjectFactory(owner=user)


@pytest.fixture
def generated_project(project: Any) -> Any:
    return GeneratedProjectFactory(project=project)
