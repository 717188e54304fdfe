"""``manage.py poison list|show|replay``: the messages the notifier could not take in, and their replay."""

from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codegen_config.commands import BadArgument, PartlyFailed, plural
from codegen_config.commands import NothingMatched as CommandNothingMatched
from notifications.errors import NothingMatched
from notifications.operations.redrive import (
    KINDS,
    HeldMessage,
    held_message,
    held_messages,
    held_replay,
    held_selected,
    replayed_json,
)


class Command(BaseCommand):
    help = "List, show and replay poison messages and held events (parked versions, unknown types)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name in ("list", "replay"):
            sub = actions.add_parser(name, help=f"{name} held messages matching the filters")
            sub.add_argument("--kind", choices=KINDS, action="append", help="poison, parked or unknown (repeatable)")
            sub.add_argument("--type", dest="event_type", help="only this event type")
            sub.add_argument("--id", dest="ids", action="append", help="a message id or event id (repeatable)")
            sub.add_argument("--limit", type=int, default=1000, help="at most this many of each kind (default 1000)")
        actions.choices["list"].add_argument("--json", action="store_true", help="JSON lines instead of a table")
        actions.choices["list"].add_argument("--resolved", action="store_true", help="include replayed poison")
        replay = actions.choices["replay"]
        replay.add_argument("--reason", required=True, help="why (recorded with the replay)")
        replay.add_argument("--actor", default=None, help="who (default: the OS user)")
        replay.add_argument("--all", action="store_true", help="replay every match when no --id is given")
        replay.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
        replay.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
        show = actions.add_parser("show", help="one message in full, with its raw body")
        show.add_argument("id", help="a message id or event id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("limit", 1) < 1:
            raise BadArgument(f"--limit: at least 1; got {options['limit']}")
        getattr(self, f"_{options['action']}")(options)

    def _select(self, options: dict[str, Any], *, include_resolved: bool = False) -> list[HeldMessage]:
        return held_messages(
            kinds=options["kind"] or KINDS,
            event_type=options["event_type"],
            ids=options["ids"],
            include_resolved=include_resolved,
            limit=options["limit"],
        )

    def _list(self, options: dict[str, Any]) -> None:
        messages = self._select(options, include_resolved=options["resolved"])
        if options["json"]:
            for message in messages:
                self.stdout.write(json.dumps(message.as_dict()))
            return
        self.stdout.write(f"{'kind':8} {'id':36} {'type':24} {'v':>3} {'tries':>5}  first seen        reason")
        for m in messages:
            self.stdout.write(
                f"{m.kind:8} {m.id[:36]:36} {m.event_type[:24]:24} {m.schema_version or '-':>3} {m.attempts:>5}  "
                f"{m.first_seen_at:%Y-%m-%d %H:%M}  {m.reason[:80]}"
            )
        self.stdout.write(f"{len(messages)} held")

    def _show(self, options: dict[str, Any]) -> None:
        message = held_message(options["id"])
        if message is None:
            raise CommandNothingMatched(f"no poison message or held event {options['id']!r}")
        self.stdout.write(json.dumps(message.as_dict(raw=True), indent=2, ensure_ascii=False))

    def _replay(self, options: dict[str, Any]) -> None:
        if not options["ids"] and not options["all"]:
            raise BadArgument("name the messages with --id, or pass --all to replay every match of the filters")
        try:
            messages = held_selected(
                kinds=options["kind"] or KINDS, event_type=options["event_type"], ids=options["ids"],
                limit=options["limit"],
            )  # fmt: skip
        except NothingMatched as exc:
            raise CommandNothingMatched(str(exc)) from None
        selection = {key: options[key] for key in ("kind", "event_type", "ids", "limit", "all")}
        try:
            replayed = held_replay(
                messages=messages,
                reason=options["reason"],
                actor=options["actor"] or getpass.getuser(),
                source="cli",
                selection=selection,
                dry_run=options["dry_run"],
            )
        except ValueError as exc:
            raise BadArgument(str(exc)) from None
        record = replayed.redrive
        if options["json"]:
            self.stdout.write(json.dumps(replayed_json(replayed)))
        else:
            for message_id, (outcome, why) in replayed.outcomes.items():
                self.stdout.write(f"  {message_id}: {outcome} ({why})")
            self.stdout.write(
                f"{'dry run: ' if record.dry_run else ''}{record.matched} matched, {record.taken_in} taken in, "
                f"{record.still_held} still held, {record.refused} refused (recorded as redrive {record.pk})"
            )
        left = record.still_held + record.refused
        if left and not record.dry_run:
            message = f"{left} of {plural(record.matched, 'message')} not taken in"
            raise PartlyFailed(message) if record.taken_in else CommandError(message)
