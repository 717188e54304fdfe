from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from notifications.models import InboxEvent, InboxStatus


class Command(BaseCommand):
    help = (
        "Delete inbox rows (with their notifications and deliveries) older than NOTIFIER_INBOX_RETENTION_DAYS; "
        "parked events are kept until taken in."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] or settings.NOTIFIER["INBOX_RETENTION_DAYS"]
        old = InboxEvent.objects.filter(received_at__lt=timezone.now() - timedelta(days=days)).exclude(
            status=InboxStatus.PARKED.value
        )
        count = old.count()
        if not options["dry_run"]:
            old.delete()
        self.stdout.write(
            f"{count} inbox rows older than {days} days" + (" (dry run)" if options["dry_run"] else " deleted")
        )
