"""Querysets for evented models: bulk paths that bypass signals are refused, never silently skipped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from outbox.errors import EventedBulkWriteRefused


class EventedQuerySet(models.QuerySet):
    """Refuses ``bulk_create`` and any ``update``/``bulk_update`` touching ``evented_fields``.

    Those paths skip ``save()`` and its signals, so they would change an evented field without
    writing the event. Use ``save()`` or the model's services instead.
    """

    #: Fields whose change emits an event; subclasses set it.
    evented_fields: frozenset[str] = frozenset()

    def _refuse(self, fields: Iterable[str], method: str) -> None:
        touched = sorted(set(fields) & self.evented_fields)
        if touched:
            raise EventedBulkWriteRefused(
                f"{self.model.__name__}.objects.{method}() would change {', '.join(touched)} "
                "without writing outbox events; save each instance or use its service"
            )

    def update(self, **kwargs: Any) -> int:
        self._refuse(kwargs, "update")
        return super().update(**kwargs)

    def bulk_update(self, objs: Iterable[models.Model], fields: Iterable[str], batch_size: int | None = None) -> int:
        fields = list(fields)
        self._refuse(fields, "bulk_update")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list[models.Model]:
        raise EventedBulkWriteRefused(
            f"{self.model.__name__}.objects.bulk_create() would create rows without their "
            "outbox events; create each instance with save() or its service"
        )
