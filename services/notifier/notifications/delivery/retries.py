"""Operators' retry of deliveries: select by status, channel, event type, age or ids, make them due again on a
fresh schedule (the delivery workers send them), and record it in ``DeliveryRetry`` (dry runs too).

The command (``deliveries_retry``), the staff REST endpoint and the admin's action all go through
``deliveries_retry``, so they select, refuse and record alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from codegen_config.commands import ids_listed
from notifications.delivery.recovery import deliveries_make_due
from notifications.errors import NothingMatched
from notifications.models import Delivery, DeliveryRetry, DeliveryStatus

#: The statuses a retry selects from (delivered ones are never sent again).
RETRY_STATUSES = (DeliveryStatus.FAILED.value, DeliveryStatus.PENDING.value)
#: The most deliveries one retry takes.
RETRY_MAX = 10_000


@dataclass(frozen=True)
class DeliverySelection:
    """Which deliveries a retry takes: all of the filters given must match; at most ``limit``, oldest first."""

    #: Failed or pending; None takes both.
    status: str | None = DeliveryStatus.FAILED.value
    channel: str | None = None
    event_type: str | None = None
    #: Only deliveries last touched longer ago than this many seconds.
    older_than: float | None = None
    ids: tuple[int, ...] = field(default=())
    limit: int = 1000

    def as_dict(self) -> dict[str, Any]:
        """The selection as recorded with the retry (filters not given left out)."""
        return {key: list(value) if key == "ids" else value for key, value in asdict(self).items() if value}


def deliveries_selected(selection: DeliverySelection) -> list[Delivery]:
    """The deliveries ``selection`` matches, oldest first, with their event.

    Raises NothingMatched naming every id of ``selection.ids`` that is no delivery at all.
    """
    if selection.ids:
        known = set(Delivery.objects.filter(pk__in=selection.ids).values_list("pk", flat=True))
        missing = tuple(sorted(set(selection.ids) - known))
        if missing:
            raise NothingMatched(f"no delivery with id {ids_listed(missing)}; nothing made due", missing=missing)
    statuses = RETRY_STATUSES if selection.status is None else (selection.status,)
    deliveries = Delivery.objects.filter(status__in=statuses).select_related("event").order_by("id")
    if selection.channel:
        deliveries = deliveries.filter(channel=selection.channel)
    if selection.event_type:
        deliveries = deliveries.filter(event__event_type=selection.event_type)
    if selection.older_than is not None:
        deliveries = deliveries.filter(updated_at__lt=timezone.now() - timedelta(seconds=selection.older_than))
    if selection.ids:
        deliveries = deliveries.filter(pk__in=selection.ids)
    return list(deliveries[: selection.limit])


def deliveries_retry(
    *, selection: DeliverySelection, reason: str, actor: str, source: str, dry_run: bool = False
) -> tuple[DeliveryRetry, list[Delivery]]:
    """Make the deliveries ``selection`` matches due again, and record who, why and what came of it.

    Returns the record and the deliveries matched. Raises ValueError without a reason, and NothingMatched
    (recording nothing) when an id names no delivery or nothing matches.
    """
    if not reason.strip():
        raise ValueError("reason: say why")
    selected = deliveries_selected(selection)
    if not selected:
        what = f"{selection.status} delivery" if selection.status else "failed or pending delivery"
        raise NothingMatched(f"no {what} matches; nothing made due")
    ids = [delivery.pk for delivery in selected]
    made_due = 0 if dry_run else deliveries_make_due(Delivery.objects.filter(pk__in=ids))
    record = DeliveryRetry.objects.create(
        actor=actor[:150], source=source, reason=reason, selection=selection.as_dict(), dry_run=dry_run,
        matched=len(ids), made_due=made_due, delivery_ids=ids,
    )  # fmt: skip
    return record, selected


def retry_json(record: DeliveryRetry) -> dict[str, Any]:
    """A retry as JSON, as the command's ``--json`` and the REST answer give it."""
    return {
        "retry_id": record.pk, "dry_run": record.dry_run, "matched": record.matched, "made_due": record.made_due,
        "ids": record.delivery_ids,
    }  # fmt: skip
