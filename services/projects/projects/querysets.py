"""Querysets of the projects models: bulk paths either keep the invariants or are refused."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import F

from outbox.errors import EventedBulkWriteRefused
from outbox.querysets import EventedQuerySet


class GeneratedProjectQuerySet(EventedQuerySet):
    evented_fields = frozenset({"status", "event_sequence"})


class RepositoryExportQuerySet(EventedQuerySet):
    evented_fields = frozenset({"status", "event_sequence"})


class ProjectFileQuerySet(models.QuerySet):
    """Keeps the generated project's totals exact on bulk creation; refuses bulk size changes."""

    #: Fields whose change would have to move the totals.
    totals_fields = frozenset({"file_size", "generated_project", "generated_project_id"})

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise EventedBulkWriteRefused(
                "ProjectFile.objects.bulk_create() with conflict handling cannot keep totals exact"
            )
        objs = list(objs)
        deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for obj in objs:
            delta = deltas[obj.generated_project_id]
            delta[0] += 1
            delta[1] += obj.file_size
        from projects.models import GeneratedProject

        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            for generated_project_id, (count, size) in sorted(deltas.items()):
                GeneratedProject.objects.using(self.db).filter(pk=generated_project_id).update(
                    total_files=F("total_files") + count, total_size=F("total_size") + size
                )
        return created

    def update(self, **kwargs: Any) -> int:
        self._refuse(kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        fields = list(fields)
        self._refuse(fields)
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def _refuse(self, fields: Iterable[str]) -> None:
        touched = sorted(set(fields) & self.totals_fields)
        if touched:
            raise EventedBulkWriteRefused(
                f"ProjectFile bulk update of {', '.join(touched)} would leave the generated "
                "project's totals wrong; save or delete each file instead"
            )
