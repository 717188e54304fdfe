from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from notifications.models import InboxEvent, InboxStatus, SequenceGap


class Command(BaseCommand):
    help = (
        "Delete inbox rows (with their notifications and deliveries) older than NOTIFIER_INBOX_RETENTION_DAYS; "
        "parked and waiting events are kept until taken in; closed sequence gaps go after the same time."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] or settings.NOTIFIER["INBOX_RETENTION_DAYS"]
        cutoff = timezone.now() - timedelta(days=days)
        old = InboxEvent.objects.filter(received_at__lt=cutoff).exclude(
            status__in=[InboxStatus.PARKED.value, InboxStatus.WAITING.value]
        )
        closed_gaps = SequenceGap.objects.filter(closed_at__lt=cutoff)
        count, gaps = old.count(), closed_gaps.count()
        if not options["dry_run"]:
            old.delete()
            closed_gaps.delete()
        self.stdout.write(
            f"{count} inbox rows and {gaps} closed gaps older than {days} days"
            + (" (dry run)" if options["dry_run"] else " deleted")
        )
