from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from codegen_config.commands import NothingMatched
from projects.errors import ProjectsError
from projects.models import GeneratedProject
from projects.services import generated_project_transition
from projects.transitions import GenerationStatus


class Command(BaseCommand):
    help = (
        "Move a generated project to another status (obeys the state machine, emits its event). Exit 1 when the "
        "machine refuses the move, 3 when no generated project has the id."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("id", type=int, help="generated project id")
        parser.add_argument("status", choices=[s.value for s in GenerationStatus], help="target status")
        parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    def handle(self, *args: Any, id: int, status: str, **options: Any) -> None:
        try:
            generated_project = GeneratedProject.objects.select_related("project").get(pk=id)
        except GeneratedProject.DoesNotExist:
            raise NothingMatched(f"no generated project with id {id}") from None
        from_status = generated_project.status
        try:
            generated_project_transition(generated_project=generated_project, to_status=status)
        except ProjectsError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"id": id, "from_status": from_status, "to_status": status}))
        else:
            self.stdout.write(f"generated project {id} is now {status} (was {from_status})")
