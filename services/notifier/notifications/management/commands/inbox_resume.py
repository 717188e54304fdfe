from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.resume import HELD, REFUSED, TAKEN_IN, inbox_resume


class Command(BaseCommand):
    help = (
        "Take in held events (parked versions, unknown types) that this notifier now knows, with one effect each; "
        "the worker runs it at start-up."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--event-id", action="append", dest="event_ids", help="only this event (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be taken in; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        resumed = inbox_resume(event_ids=options["event_ids"], dry_run=options["dry_run"])
        for event_id, (outcome, why) in resumed.outcomes.items():
            self.stdout.write(f"  {event_id}: {outcome} ({why})")
        verb = "would be taken in" if options["dry_run"] else "taken in"
        self.stdout.write(
            f"{resumed.count(TAKEN_IN)} {verb}, {resumed.count(HELD)} still held, {resumed.count(REFUSED)} refused"
        )
