"""``manage.py inbox gaps``: the sequences of aggregates that never arrived (exit 1 when one is alerting)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codegen_config import duration_seconds
from codegen_config.commands import BadArgument, plural
from notifications.intake.sequencing import gaps_open_list, sequence_ranges


class Command(BaseCommand):
    help = (
        "Inbox reports. `gaps`: open sequence gaps by aggregate; exit 1 when one is open past NOTIFIER_GAP_ALERT_AFTER."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        gaps = actions.add_parser("gaps", help="open sequence gaps by aggregate")
        gaps.add_argument("--json", action="store_true", help="one JSON object per aggregate and line")
        gaps.add_argument(
            "--alert-after", default=None, help="a duration such as 90s or 10m (default NOTIFIER_GAP_ALERT_AFTER)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alert_after = None
        if options["alert_after"] is not None:
            try:
                alert_after = duration_seconds(options["alert_after"])
            except ValueError as exc:
                raise BadArgument(f"--alert-after: {exc}") from None
        gaps = gaps_open_list(alert_after=alert_after)
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
            self.stdout.write(f"{plural(len(gaps), 'aggregate')} with open gaps, {alerting} alerting")
            if alerting:
                self.stdout.write(
                    "way out: replay them from the projects service, e.g. "
                    "`manage.py outbox replay --aggregate generated_project:12 --reason ...`"
                )
        alerting = sum(gap.alerting for gap in gaps)
        if alerting:
            raise CommandError(f"{plural(alerting, 'aggregate')} with a gap open past its alert time")
