from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from codegen_config.commands import NothingMatched, ids_listed, plural
from projects.models import GeneratedProject
from projects.services import generated_projects_recount


class Command(BaseCommand):
    help = (
        "Verify generated projects' total_files/total_size against their files; --fix repairs drift. Exit 1 when "
        "totals drifted and were not fixed, 3 when an --id names no generated project."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="repair the totals that drifted")
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", help="only this generated project (repeatable)"
        )
        parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, fix: bool, ids: list[int] | None, **options: Any) -> None:
        if ids:
            known = set(GeneratedProject.objects.filter(pk__in=ids).values_list("pk", flat=True))
            missing = sorted(set(ids) - known)
            if missing:
                raise NothingMatched(f"no generated project with id {ids_listed(missing)}; nothing recounted")
        drifted = generated_projects_recount(ids=ids, fix=fix)
        if options["json"]:
            self.stdout.write(json.dumps({"drifted": drifted, "fixed": fix}))
        else:
            for row in drifted:
                self.stdout.write(
                    f"generated project {row['pk']}: stored {row['total_files']} files / {row['total_size']} bytes, "
                    f"counted {row['counted_files']} files / {row['counted_size']} bytes" + (" (fixed)" if fix else "")
                )
            self.stdout.write(f"{len(drifted)} drifted" + (", fixed" if fix and drifted else ""))
        if drifted and not fix:
            raise CommandError(f"{plural(len(drifted), 'generated project')} drifted; run with --fix to repair")
