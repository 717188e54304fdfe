from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.deliveries import delivery_attempt
from notifications.models import Channel, Delivery, DeliveryStatus


def _age(value: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return timedelta(seconds=float(value[:-1]) * units[value[-1]])
    except (KeyError, ValueError, IndexError):
        raise CommandError(f"--older-than takes a number and a unit (s, m, h, d), e.g. 10m; got {value!r}") from None


class Command(BaseCommand):
    help = "Retry deliveries by filter (failed ones by default); --dry-run shows what would be retried."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--status", choices=[DeliveryStatus.FAILED.value, DeliveryStatus.PENDING.value], default="failed"
        )
        parser.add_argument("--channel", choices=[Channel.EMAIL.value, Channel.WEBHOOK.value])
        parser.add_argument("--event-type")
        parser.add_argument("--older-than", help="only deliveries last touched longer ago than this (e.g. 5m)")
        parser.add_argument("--id", type=int, action="append", dest="ids")
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        deliveries = Delivery.objects.filter(status=options["status"]).select_related("event").order_by("id")
        if options["channel"]:
            deliveries = deliveries.filter(channel=options["channel"])
        if options["event_type"]:
            deliveries = deliveries.filter(event__event_type=options["event_type"])
        if options["older_than"]:
            deliveries = deliveries.filter(updated_at__lt=timezone.now() - _age(options["older_than"]))
        if options["ids"]:
            deliveries = deliveries.filter(pk__in=options["ids"])
        selected = list(deliveries[: options["limit"]])
        self.stdout.write(f"{len(selected)} deliveries match")
        for delivery in selected[:10]:
            what = f"{delivery.channel} → {delivery.target} ({delivery.event.event_type})"
            self.stdout.write(f"  #{delivery.pk} {what}: {delivery.last_error}")
        if options["dry_run"]:
            self.stdout.write("dry run: nothing retried")
            return
        outcome = {"delivered": 0, "failed": 0}
        for delivery in selected:
            result = delivery_attempt(delivery.pk, retry_failed=True)
            outcome["delivered" if result.status == DeliveryStatus.DELIVERED else "failed"] += 1
        self.stdout.write(f"retried {len(selected)}: {outcome['delivered']} delivered, {outcome['failed']} failed")
