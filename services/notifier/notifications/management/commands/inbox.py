"""``manage.py inbox gaps``: the sequences of aggregates that never arrived (exit 1 when one is alerting)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.sequencing import gaps_open_list, sequence_ranges


class Command(BaseCommand):
    help = (
        "Inbox reports. `gaps`: open sequence gaps by aggregate; exit 1 when one is open past NOTIFIER_GAP_ALERT_AFTER."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        gaps = actions.add_parser("gaps", help="open sequence gaps by aggregate")
        gaps.add_argument("--json", action="store_true", help="one JSON object per aggregate and line")
        gaps.add_argument("--alert-after", type=float, default=None, help="seconds (default NOTIFIER_GAP_ALERT_AFTER)")

    def handle(self, *args: Any, **options: Any) -> None:
        gaps = gaps_open_list(alert_after=options["alert_after"])
        if options["json"]:
            for gap in gaps:
                self.stdout.write(json.dumps(gap.as_dict()))
        else:
            self.stdout.write(f"{'aggregate':40} {'missing':20} {'open since':25} alerting")
            for gap in gaps:
                aggregate = f"{gap.aggregate_type}:{gap.aggregate_id}"
                self.stdout.write(
                    f"{aggregate[:40]:40} {sequence_ranges(gap.missing)[:20]:20} "
                    f"{gap.opened_at:%Y-%m-%d %H:%M:%S%z}      {'yes' if gap.alerting else 'not yet'}"
                )
            alerting = sum(gap.alerting for gap in gaps)
            self.stdout.write(f"{len(gaps)} aggregates with open gaps, {alerting} alerting")
            if alerting:
                self.stdout.write(
                    "way out: replay them from the projects service, e.g. "
                    "`manage.py outbox replay --aggregate generated_project:12 --reason ...`"
                )
        if any(gap.alerting for gap in gaps):
            sys.exit(1)
