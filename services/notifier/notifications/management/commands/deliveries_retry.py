from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from codegen_config import duration_seconds
from codegen_config.commands import BadArgument, NothingMatched, ids_listed, plural
from notifications.delivery.channels import CHANNELS
from notifications.delivery.recovery import deliveries_make_due
from notifications.models import Delivery, DeliveryStatus


class Command(BaseCommand):
    help = (
        "Make deliveries due again on a fresh retry schedule, by filter (failed ones by default); the delivery "
        "workers send them (their sends are not awaited). --dry-run shows what would be made due. Exit 3 when "
        "nothing matches or an --id names no such delivery (nothing is made due then), 2 for a bad argument."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--status", choices=[DeliveryStatus.FAILED.value, DeliveryStatus.PENDING.value], default="failed"
        )
        parser.add_argument("--channel", choices=list(CHANNELS))
        parser.add_argument("--event-type")
        parser.add_argument("--older-than", help="only deliveries last touched longer ago than this (e.g. 5m)")
        parser.add_argument("--id", type=int, action="append", dest="ids")
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise BadArgument(f"--limit: at least 1; got {options['limit']}")
        if options["ids"]:
            known = set(Delivery.objects.filter(pk__in=options["ids"]).values_list("pk", flat=True))
            unknown = sorted(set(options["ids"]) - known)
            if unknown:
                raise NothingMatched(f"no delivery with id {ids_listed(unknown)}; nothing made due")
        deliveries = Delivery.objects.filter(status=options["status"]).select_related("event").order_by("id")
        if options["channel"]:
            deliveries = deliveries.filter(channel=options["channel"])
        if options["event_type"]:
            deliveries = deliveries.filter(event__event_type=options["event_type"])
        if options["older_than"]:
            try:
                age = duration_seconds(options["older_than"])
            except ValueError as exc:
                raise BadArgument(f"--older-than: {exc}") from None
            deliveries = deliveries.filter(updated_at__lt=timezone.now() - timezone.timedelta(seconds=age))
        if options["ids"]:
            deliveries = deliveries.filter(pk__in=options["ids"])
        selected = list(deliveries[: options["limit"]])
        say = (lambda line: None) if options["json"] else self.stdout.write
        say(plural(len(selected), "delivery matches", "deliveries match"))
        for delivery in selected[:10]:
            what = f"{delivery.channel} → {delivery.target} ({delivery.event.event_type})"
            say(f"  #{delivery.pk} {what}: {delivery.last_error}")
        if not selected:
            raise NothingMatched(f"no {options['status']} delivery matches; nothing made due")
        count = 0
        if options["dry_run"]:
            say("dry run: nothing made due")
        else:
            count = deliveries_make_due(Delivery.objects.filter(pk__in=[d.pk for d in selected]))
            say(f"{plural(count, 'delivery', 'deliveries')} made due again; the delivery workers send them")
        if options["json"]:
            self.stdout.write(json.dumps({"matched": len(selected), "made_due": count, "dry_run": options["dry_run"],
                                          "ids": [d.pk for d in selected]}))  # fmt: skip
