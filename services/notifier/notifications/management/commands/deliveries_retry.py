from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand

from codegen_config.commands import BadArgument, NothingMatched, plural
from codegen_config.durations import age_seconds
from notifications.delivery.channels import CHANNELS
from notifications.delivery.retries import RETRY_MAX, RETRY_STATUSES, DeliverySelection, deliveries_retry, retry_json
from notifications.errors import NothingMatched as NoDeliveries


class Command(BaseCommand):
    help = (
        "Make deliveries due again on a fresh retry schedule, by filter (failed ones by default); the delivery "
        "workers send them (their sends are not awaited). Recorded with --reason, dry runs too. --dry-run shows "
        "what would be made due. Exit 3 when nothing matches or an --id names no such delivery (nothing is made "
        "due or recorded then), 2 for a bad argument."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--status", choices=RETRY_STATUSES, default=RETRY_STATUSES[0])
        parser.add_argument("--channel", choices=list(CHANNELS))
        parser.add_argument("--event-type")
        parser.add_argument("--older-than", help="only deliveries last touched longer ago than this (e.g. 5m)")
        parser.add_argument("--id", type=int, action="append", dest="ids")
        parser.add_argument("--limit", type=int, default=1000, help=f"at most this many (1 to {RETRY_MAX})")
        parser.add_argument("--reason", required=True, help="why (recorded with the retry)")
        parser.add_argument("--actor", default=None, help="who (default: the OS user)")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["limit"] <= RETRY_MAX:
            raise BadArgument(f"--limit: 1 to {RETRY_MAX}; got {options['limit']}")
        try:
            older_than = age_seconds(options["older_than"]) if options["older_than"] else None
        except ValueError as exc:
            raise BadArgument(f"--older-than: {exc}") from None
        selection = DeliverySelection(
            status=options["status"], channel=options["channel"], event_type=options["event_type"],
            older_than=older_than, ids=tuple(options["ids"] or ()), limit=options["limit"],
        )  # fmt: skip
        try:
            record, selected = deliveries_retry(
                selection=selection, reason=options["reason"], actor=options["actor"] or getpass.getuser(),
                source="cli", dry_run=options["dry_run"],
            )  # fmt: skip
        except NoDeliveries as exc:
            raise NothingMatched(str(exc)) from None
        except ValueError as exc:
            raise BadArgument(f"--{exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps(retry_json(record)))
            return
        self.stdout.write(plural(record.matched, "delivery matches", "deliveries match"))
        for delivery in selected[:10]:
            what = f"{delivery.channel} → {delivery.target} ({delivery.event.event_type})"
            self.stdout.write(f"  #{delivery.pk} {what}: {delivery.last_error}")
        self.stdout.write(record.summary())
