from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from codegen_config.commands import BadArgument, NothingMatched, PartlyFailed, ids_listed, plural
from notifications.intake.resume import HELD, REFUSED, TAKEN_IN, inbox_resume
from notifications.models import HELD_STATUSES, InboxEvent


class Command(BaseCommand):
    help = (
        "Take in held events (parked versions, unknown types) that this notifier now knows, with one effect each; "
        "the worker runs it at start-up."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--event-id", action="append", dest="event_ids", help="only this event (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be taken in; write nothing")
        parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        event_ids = options["event_ids"]
        if event_ids is not None:
            event_ids = [_event_id(value) for value in event_ids]
            held = {str(e) for e in InboxEvent.objects.filter(event_id__in=event_ids, status__in=HELD_STATUSES)
                    .values_list("event_id", flat=True)}  # fmt: skip
            unknown = [e for e in event_ids if e not in held]
            if unknown:
                raise NothingMatched(f"no held event {ids_listed(unknown)}; nothing taken in")
        resumed = inbox_resume(event_ids=event_ids, dry_run=options["dry_run"])
        taken, left = resumed.count(TAKEN_IN), resumed.count(HELD) + resumed.count(REFUSED)
        if options["json"]:
            self.stdout.write(json.dumps({
                "taken_in": taken, "still_held": resumed.count(HELD), "refused": resumed.count(REFUSED),
                "dry_run": options["dry_run"], "outcomes": resumed.outcomes,
            }))  # fmt: skip
        else:
            for event_id, (outcome, why) in resumed.outcomes.items():
                self.stdout.write(f"  {event_id}: {outcome} ({why})")
            verb = "would be taken in" if options["dry_run"] else "taken in"
            self.stdout.write(f"{taken} {verb}, {resumed.count(HELD)} still held, {resumed.count(REFUSED)} refused")
        if not resumed.outcomes:
            raise NothingMatched("no event is held; nothing taken in")
        if left and not options["dry_run"]:
            message = f"{left} of {plural(len(resumed.outcomes), 'held event')} not taken in"
            raise PartlyFailed(message) if taken else CommandError(message)


def _event_id(value: str) -> str:
    """``--event-id``: a UUID, in its canonical form."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise BadArgument(f"--event-id: not an event id (a UUID); got {value!r}") from None
