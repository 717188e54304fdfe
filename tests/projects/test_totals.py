"""File totals: O(1) per file, exact on every write path, verified and repaired by `recount`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.errors import EventedBulkWriteRefused
from projects.models import GeneratedProject, ProjectFile
from tests.projects.factories import GeneratedProjectFactory, ProjectFileFactory

pytestmark = pytest.mark.django_db


def totals(generated_project):
    generated_project.refresh_from_db()
    return generated_project.total_files, generated_project.total_size


def test_save_and_delete_move_the_totals(generated_project):
    first = ProjectFileFactory(generated_project=generated_project, file_size=100)
    ProjectFileFactory(generated_project=generated_project, file_size=50)
    assert totals(generated_project) == (2, 150)
    first.file_size = 30
    first.save()
    assert totals(generated_project) == (2, 80)
    first.delete()
    assert totals(generated_project) == (1, 50)


def test_adding_a_file_costs_the_same_number_of_queries_at_any_size(generated_project):
    ProjectFile.objects.bulk_create(
        [ProjectFile(generated_project=generated_project, path=f"f{i}", file_size=1) for i in range(2000)]
    )
    with CaptureQueriesContext(connection) as queries:
        ProjectFile.objects.create(generated_project=generated_project, path="last", file_size=1)
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "COUNT(" not in sql and "SUM(" not in sql
    assert len(queries.captured_queries) <= 4  # savepoint, insert, update totals, release
    assert totals(generated_project) == (2001, 2001)


def test_bulk_create_moves_totals_per_generated_project(project):
    a = GeneratedProjectFactory(project=project)
    b = GeneratedProjectFactory(project=project)
    ProjectFile.objects.bulk_create(
        [ProjectFile(generated_project=a, path=f"a{i}", file_size=10) for i in range(3)]
        + [ProjectFile(generated_project=b, path="b", file_size=7)]
    )
    assert totals(a) == (3, 30) and totals(b) == (1, 7)


def test_queryset_delete_moves_totals(generated_project):
    for i in range(4):
        ProjectFileFactory(generated_project=generated_project, path=f"x{i}", file_size=5)
    ProjectFile.objects.filter(path__in=["x0", "x1"]).delete()
    assert totals(generated_project) == (2, 10)


def test_deleting_the_generated_project_skips_per_file_updates(generated_project):
    ProjectFile.objects.bulk_create(
        [ProjectFile(generated_project=generated_project, path=f"f{i}", file_size=1) for i in range(50)]
    )
    with CaptureQueriesContext(connection) as queries:
        generated_project.delete()
    updates = [q for q in queries.captured_queries if q["sql"].upper().startswith("UPDATE")]
    assert updates == []
    assert not ProjectFile.objects.exists()


def test_bulk_paths_that_would_break_totals_are_refused(generated_project):
    ProjectFileFactory(generated_project=generated_project, file_size=5)
    with pytest.raises(EventedBulkWriteRefused, match="file_size"):
        ProjectFile.objects.update(file_size=1)
    with pytest.raises(EventedBulkWriteRefused):
        ProjectFile.objects.bulk_create(
            [ProjectFile(generated_project=generated_project, path="z", file_size=1)], ignore_conflicts=True
        )
    ProjectFile.objects.update(path="renamed.txt")  # not part of the totals
    assert totals(generated_project) == (1, 5)


def test_recount_reports_drift_and_fixes_it(generated_project):
    ProjectFileFactory(generated_project=generated_project, file_size=5)
    healthy = GeneratedProjectFactory()
    GeneratedProject.objects.filter(pk=generated_project.pk).update(total_files=9, total_size=1)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 generated project"):
        call_command("recount", stdout=out)
    assert (
        f"generated project {generated_project.pk}: stored 9 files / 1 bytes, counted 1 files / 5 bytes"
        in out.getvalue()
    )
    assert totals(generated_project) == (9, 1)
    call_command("recount", "--fix", stdout=io.StringIO())
    assert totals(generated_project) == (1, 5)
    assert totals(healthy) == (0, 0)
    out = io.StringIO()
    call_command("recount", stdout=out)
    assert "0 drifted" in out.getvalue()


def test_recount_in_chunks_covers_every_row(project):
    from projects.services import generated_projects_recount

    projects = [GeneratedProjectFactory(project=project) for _ in range(7)]
    GeneratedProject.objects.filter(pk__in=[p.pk for p in projects]).update(total_files=3)
    drifted = generated_projects_recount(fix=True, chunk=2)
    assert sorted(row["pk"] for row in drifted) == sorted(p.pk for p in projects)
    assert set(GeneratedProject.objects.values_list("total_files", flat=True)) == {0}
