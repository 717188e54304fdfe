"""The contracts bound text as the projects service stores it: every storable row makes a valid event."""

from __future__ import annotations

import typing

import pytest

from codegen_contracts import events as catalogue
from projects.models import Project, RepositoryExport


def _limit(annotated: object) -> int:
    return next(meta.max_length for meta in typing.get_args(annotated)[1:])


@pytest.mark.parametrize(
    ("model", "column", "annotated"),
    [
        (Project, "name", catalogue.Name),
        (Project, "notification_email", catalogue.Email),
        (Project, "webhook_url", catalogue.Url),
        (RepositoryExport, "repository_url", catalogue.Url),
        (RepositoryExport, "error", catalogue.Text),
    ],
)
def test_contract_limits_are_the_column_limits(model, column, annotated):
    assert model._meta.get_field(column).max_length == _limit(annotated)


@pytest.mark.django_db
def test_longest_storable_values_make_a_valid_event():
    from outbox.models import OutboxEvent
    from tests.projects.factories import GeneratedProjectFactory, ProjectFactory

    # given a project whose every text is as long as its column allows
    email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 61
    project = ProjectFactory(name="n" * 200, notification_email=email, webhook_url="https://x.example/" + "p" * 2030)
    # when a generated project is created, then its event was written (and validated) with them
    GeneratedProjectFactory(project=project)
    payload = OutboxEvent.objects.get(event_type=catalogue.GENERATION_STARTED).payload
    assert (len(payload["project_name"]), len(payload["notification_email"]), len(payload["webhook_url"])) == (
        200,
        254,
        2048,
    )
