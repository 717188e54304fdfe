"""Guarantee 2 under concurrency, and exact file totals under concurrent writers (real PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from outbox.models import OutboxEvent
from projects.models import GeneratedProject, ProjectFile
from tests.projects.conftest import client_for
from tests.projects.factories import GeneratedProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at the same moment; return their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_conflicting_transitions_have_one_winner_and_one_event():
    generated_project = GeneratedProjectFactory()
    generated_project.status = "generating"
    generated_project.save()
    token_user = generated_project.project.owner
    url = f"/api/v1/generated-projects/{generated_project.pk}/"
    targets = ["completed", "failed"] * 8

    def request(i: int) -> int:
        return client_for(token_user).patch(url, {"status": targets[i]}, format="json").status_code

    statuses = run_together(16, request)
    assert Counter(statuses) == {200: 1, 409: 15}
    final = GeneratedProject.objects.get(pk=generated_project.pk).status
    events = OutboxEvent.objects.filter(aggregate_id=str(generated_project.pk)).exclude(
        event_type__in=["generation.started", "generation.running"]
    )
    assert [e.event_type for e in events] == [f"generation.{final}"]


def test_concurrent_identical_transitions_have_one_winner():
    generated_project = GeneratedProjectFactory()
    owner = generated_project.project.owner
    url = f"/api/v1/generated-projects/{generated_project.pk}/"
    statuses = run_together(
        16, lambda i: client_for(owner).patch(url, {"status": "generating"}, format="json").status_code
    )
    assert Counter(statuses) == {200: 1, 409: 15}
    assert OutboxEvent.objects.filter(event_type="generation.running").count() == 1


def test_totals_stay_exact_under_concurrent_inserts_and_deletes():
    generated_project = GeneratedProjectFactory()
    owner = generated_project.project.owner
    url = f"/api/v1/generated-projects/{generated_project.pk}/files/"
    doomed = ProjectFile.objects.bulk_create(
        [ProjectFile(generated_project=generated_project, path=f"old/{i}", file_size=1000) for i in range(8)]
    )

    def work(i: int) -> int:
        client = client_for(owner)
        if i % 2:
            return client.delete(f"{url}{doomed[i // 2].pk}/").status_code
        batch = [{"path": f"t{i}/f{j}", "file_size": i + j} for j in range(25)]
        return client.post(url, batch, format="json").status_code

    statuses = run_together(16, work)
    assert Counter(statuses) == {201: 8, 204: 8}
    generated_project.refresh_from_db()
    counted = ProjectFile.objects.filter(generated_project=generated_project)
    assert generated_project.total_files == counted.count() == 200
    assert generated_project.total_size == sum(f.file_size for f in counted)


def test_concurrent_bulks_with_the_same_path_store_one():
    generated_project = GeneratedProjectFactory()
    owner = generated_project.project.owner
    url = f"/api/v1/generated-projects/{generated_project.pk}/files/"
    statuses = run_together(
        8, lambda i: client_for(owner).post(url, [{"path": "same.py", "file_size": 7}], format="json").status_code
    )
    assert Counter(statuses) == {201: 1, 409: 7}
    generated_project.refresh_from_db()
    assert (generated_project.total_files, generated_project.total_size) == (1, 7)
