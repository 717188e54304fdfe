"""`manage.py inbox_purge`: delete what the inbox no longer needs, in batches, never its deduplication's memory."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from codegen_config.commands import BadArgument, plural
from notifications.config import notifier_config
from notifications.models import InboxEvent, InboxStatus, SequenceGap

#: The shortest retention a purge accepts, in days. An inbox row is what makes a redelivered event count once;
#: events come again for days (Dramatiq's retries, a relay's lease, an operator's replay of published outbox
#: rows, which the projects service keeps a day by default), so younger rows are never purged.
RETENTION_FLOOR_DAYS = 7
#: Inbox rows deleted per transaction (with their notifications, deliveries and attempts).
PURGE_BATCH = 1000


class Command(BaseCommand):
    help = (
        "Delete inbox rows (with their notifications and deliveries) older than --days "
        f"(default NOTIFIER_INBOX_RETENTION_DAYS, at least {RETENTION_FLOOR_DAYS}), in batches; parked and waiting "
        "events are kept until taken in; closed sequence gaps go after the same time."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None, help=f"age in days (at least {RETENTION_FLOOR_DAYS})")
        parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else notifier_config().inbox_retention_days
        if days < RETENTION_FLOOR_DAYS:
            raise BadArgument(
                f"--days: at least {RETENTION_FLOOR_DAYS} (younger inbox rows still deduplicate redeliveries); "
                f"got {days}"
            )
        cutoff = timezone.now() - timedelta(days=days)
        old = InboxEvent.objects.filter(received_at__lt=cutoff).exclude(
            status__in=[InboxStatus.PARKED.value, InboxStatus.WAITING.value]
        )
        closed_gaps = SequenceGap.objects.filter(closed_at__lt=cutoff)
        rows, gaps = old.count(), closed_gaps.count()
        if not options["dry_run"]:
            rows = self._delete_in_batches(old, rows)
            closed_gaps.delete()
        summary = {"inbox_rows": rows, "closed_gaps": gaps, "older_than_days": days, "dry_run": options["dry_run"]}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            f"{verb} {plural(rows, 'inbox row')} and {plural(gaps, 'closed gap')} older than {plural(days, 'day')}"
        )

    def _delete_in_batches(self, old: Any, total: int) -> int:
        """Delete ``old`` ``PURGE_BATCH`` rows per transaction, with a progress bar on a terminal; how many went."""
        from tqdm import tqdm

        deleted = 0
        with tqdm(total=total, unit="row", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            while ids := list(old.order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH]):
                InboxEvent.objects.filter(pk__in=ids).delete()
                deleted += len(ids)
                bar.update(len(ids))
        return deleted
