from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from projects.services import generated_projects_recount


class Command(BaseCommand):
    help = "Verify generated projects' total_files/total_size against their files; --fix repairs drift."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="repair the totals that drifted")
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", help="only this generated project (repeatable)"
        )

    def handle(self, *args: Any, fix: bool, ids: list[int] | None, **options: Any) -> None:
        drifted = generated_projects_recount(ids=ids, fix=fix)
        for row in drifted:
            self.stdout.write(
                f"generated project {row['pk']}: stored {row['total_files']} files / {row['total_size']} bytes, "
                f"counted {row['counted_files']} files / {row['counted_size']} bytes" + (" (fixed)" if fix else "")
            )
        if drifted and not fix:
            raise CommandError(f"{len(drifted)} generated project(s) drifted; run with --fix to repair")
        self.stdout.write(f"{len(drifted)} drifted" + (", fixed" if fix and drifted else ""))
