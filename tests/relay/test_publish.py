"""Guarantees 3 and 5: every committed row reaches the queue once; rolled-back work never does."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction

from outbox.models import OutboxEvent
from projects import services
from tests.projects.factories import ProjectFactory
from tests.relay.conftest import received, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def make_events(count: int) -> list[str]:
    """Create ``count`` generated projects (one committed event each); return their event ids."""
    project = ProjectFactory()
    for _ in range(count):
        services.generated_project_create(project=project)
    return [str(e) for e in OutboxEvent.objects.values_list("event_id", flat=True)]


def test_every_committed_row_is_published_exactly_once_and_rollback_emits_no_event(processes, redis_url):
    committed = make_events(50)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.generated_project_create(project=ProjectFactory())
        raise RuntimeError("rolled back")
    result = processes.run([*processes.relay_args(), "--once"])
    assert result.returncode == 0, result.stdout + result.stderr
    processes.worker()
    got = wait_for(lambda: (r := received(redis_url)) and len(r) >= 50 and r, what="50 deliveries")
    assert Counter(got) == Counter(committed)
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {"published"}
