"""`manage.py outbox status|list|show|replay|purge`: the operator's view of the outbox."""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codegen_config import duration_text
from codegen_config.commands import BadArgument, NothingMatched, plural
from outbox.config import outbox_config
from outbox.errors import InvalidFilter, ReplayRefused
from outbox.errors import NothingMatched as NoRows
from outbox.filters import OutboxFilter, duration_parse, outbox_rows_matching
from outbox.models import OutboxEvent
from outbox.ops import outbox_purge, outbox_replay, outbox_status
from outbox.presenters import replay_json, row_detail, row_json

#: Columns of the `outbox list` table.
TABLE_COLUMNS = ("event_id", "event_type", "aggregate", "seq", "state", "attempts", "created_at", "last_error")


def add_filter_options(parser: CommandParser) -> None:
    parser.add_argument("--state", help="pending, published or dead")
    parser.add_argument("--type", dest="event_type", help="event type, e.g. generation.completed")
    parser.add_argument("--aggregate", help="TYPE:ID, e.g. generated_project:12")
    parser.add_argument("--older-than", dest="older_than", help="created longer ago than this, e.g. 10m, 2h, 7d")
    parser.add_argument("--since", help="created at or after this RFC 3339 time (2026-11-26T07:00:00Z)")
    parser.add_argument("--until", help="created before this RFC 3339 time")


class Command(BaseCommand):
    help = "Inspect, replay and purge outbox rows."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))
        status = sub.add_parser("status", help="counts, oldest pending age, dead rows, relay heartbeats")
        status.add_argument("--max-age", default="10m", help="exit 1 when a pending row is older (default 10m)")
        status.add_argument("--json", action="store_true", help="one JSON object instead of the report")

        listing = sub.add_parser("list", help="rows matching filters")
        add_filter_options(listing)
        listing.add_argument("--json", action="store_true", help="one JSON object per row and line, stable keys")
        listing.add_argument("--limit", type=int, default=50, help="rows per page (default 50)")
        listing.add_argument("--page", type=int, default=1)

        show = sub.add_parser("show", help="everything about one row")
        show.add_argument("event_id")

        replay = sub.add_parser("replay", help="publish rows again (audited)")
        replay.add_argument("event_ids", nargs="*", help="event ids (or use the filters)")
        add_filter_options(replay)
        replay.add_argument("--reason", help="why (required; recorded in the audit log)")
        replay.add_argument("--dry-run", action="store_true", help="show how many and a sample; change nothing")
        replay.add_argument("--new-id", action="store_true", help="re-issue under new event ids (forced reprocessing)")
        replay.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        replay.add_argument("--rate", type=float, help="at most this many rows per second")
        replay.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

        purge = sub.add_parser("purge", help="delete published rows older than the retention")
        purge.add_argument("--older-than", default=None, help="default: OUTBOX_RETENTION_SECONDS")
        purge.add_argument("--batch", type=int, default=5000)
        purge.add_argument("--dry-run", action="store_true")
        purge.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"do_{options['subcommand']}")(options)
        except (InvalidFilter, ReplayRefused) as exc:
            raise BadArgument(str(exc)) from exc
        except NoRows as exc:
            raise NothingMatched(str(exc)) from exc

    # --- status ----------------------------------------------------------------------------

    def do_status(self, options: dict[str, Any]) -> None:
        max_age = duration_parse(options["max_age"], name="--max-age")
        status = outbox_status()
        problems = []
        if status["dead"]:
            problems.append(f"{status['dead']} dead rows")
        if status["oldest_pending_age_seconds"] > max_age.total_seconds():
            problems.append(f"oldest pending row is {status['oldest_pending_age_seconds']:.0f}s old")
        if options["json"]:
            self.stdout.write(json.dumps({**status, "problems": problems}, indent=2))
        else:
            self.stdout.write("rows by state: " + ", ".join(f"{k} {v}" for k, v in status["by_state"].items()))
            self.stdout.write(f"oldest pending: {status['oldest_pending_age_seconds']:.1f}s")
            for event_type, states in status["by_type"].items():
                self.stdout.write(f"  {event_type:<24} " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
            for relay in status["relays"]:
                self.stdout.write(
                    f"relay {relay['relay_id']} ({relay['state']}): last beat {relay['last_beat_at']}, "
                    f"last batch {relay['last_batch_at'] or 'never'}, published {relay['published_total']}"
                )
            if not status["relays"]:
                self.stdout.write("no relay has reported a heartbeat")
        if problems:
            raise CommandError("; ".join(problems), returncode=1)

    # --- list ------------------------------------------------------------------------------

    def do_list(self, options: dict[str, Any]) -> None:
        outbox_filter = OutboxFilter.parse(options)
        for name in ("limit", "page"):
            if options[name] < 1:
                raise BadArgument(f"--{name}: at least 1; got {options[name]}")
        start = (options["page"] - 1) * options["limit"]
        matching = outbox_rows_matching(outbox_filter)
        total = matching.count()
        rows = list(matching[start : start + options["limit"]])
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps(row_json(row)))
            return
        cells = [
            (
                str(r.event_id), r.event_type, f"{r.aggregate_type}:{r.aggregate_id}", str(r.sequence), r.state,
                str(r.attempts), r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.last_error[:40],
            )
            for r in rows
        ]  # fmt: skip
        widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(TABLE_COLUMNS)]
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(TABLE_COLUMNS, widths, strict=True)).rstrip())
        for row_cells in cells:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row_cells, widths, strict=True)).rstrip())
        pages = max(1, -(-total // options["limit"]))
        self.stdout.write(f"({plural(len(rows), 'row')} of {total}, page {options['page']} of {pages})")

    # --- show ------------------------------------------------------------------------------

    def do_show(self, options: dict[str, Any]) -> None:
        try:
            event_id = uuid.UUID(options["event_id"])
        except ValueError:
            raise BadArgument(f"event_id: not an event id (a UUID); got {options['event_id']!r}") from None
        row = OutboxEvent.objects.filter(event_id=event_id).first()
        if row is None:
            raise NothingMatched(f"no outbox row with event id {event_id}")
        self.stdout.write(json.dumps(row_detail(row), indent=2))

    # --- replay ----------------------------------------------------------------------------

    def do_replay(self, options: dict[str, Any]) -> None:
        outbox_filter = OutboxFilter.parse({**options, "event_ids": options["event_ids"]})
        if not options["reason"] or not options["reason"].strip():
            raise BadArgument("--reason is required: say why you replay (it goes to the audit log)")
        if outbox_filter.empty:
            raise BadArgument("give event ids or at least one filter; refusing to replay every row")
        if options["rate"] is not None and options["rate"] <= 0:
            raise BadArgument(f"--rate: must be positive; got {options['rate']}")
        common = {
            "outbox_filter": outbox_filter,
            "reason": options["reason"],
            "actor": getpass.getuser(),
            "source": "cli",
            "new_ids": options["new_id"],
        }
        say = (lambda line: None) if options["json"] else self.stdout.write
        preview = outbox_replay(**common, dry_run=True)
        matched = plural(preview.matched, "row matches", "rows match")
        say(matched + (" (re-issued under new ids)" if options["new_id"] else ""))
        for item in preview.sample:
            say(f"  {item['event_id']}  {item['event_type']:<24} {item['state']}")
        if not preview.matched:
            raise NothingMatched("no outbox row matches; nothing replayed")
        if options["dry_run"]:
            say("dry run: nothing changed")
            if options["json"]:
                self.stdout.write(json.dumps(replay_json(preview)))
            return
        if options["new_id"] and not options["yes"]:
            if not sys.stdin.isatty():
                raise BadArgument("--new-id re-issues events for forced reprocessing: confirm with --yes")
            if input(f"Re-issue {preview.matched} events under new ids? [y/N] ").strip().lower() != "y":
                raise CommandError("not confirmed; nothing changed")
        from tqdm import tqdm

        with tqdm(total=preview.matched, unit="row", file=sys.stderr, disable=preview.matched < 1000) as bar:
            result = outbox_replay(**common, rate=options["rate"], progress=bar.update)
        if options["json"]:
            self.stdout.write(json.dumps(replay_json(result)))
            return
        self.stdout.write(
            f"replayed {plural(result.replayed, 'row')} (audit record {result.audit_id})"
            + (f"; {result.skipped} skipped (held by a relay, or no longer matching)" if result.skipped else "")
        )

    # --- purge -----------------------------------------------------------------------------

    def do_purge(self, options: dict[str, Any]) -> None:
        older_than = (
            duration_parse(options["older_than"], name="--older-than")
            if options["older_than"]
            else timedelta(seconds=outbox_config().retention_seconds)
        )
        if options["batch"] < 1:
            raise BadArgument(f"--batch: at least 1; got {options['batch']}")
        count = outbox_purge(older_than=older_than, batch=options["batch"], dry_run=options["dry_run"])
        if options["json"]:
            summary = {"published_rows": count, "older_than_seconds": older_than.total_seconds(),
                       "dry_run": options["dry_run"]}  # fmt: skip
            self.stdout.write(json.dumps(summary))
            return
        verb = "would delete" if options["dry_run"] else "deleted"
        age = duration_text(older_than.total_seconds())
        self.stdout.write(f"{verb} {plural(count, 'published row')} older than {age}")
