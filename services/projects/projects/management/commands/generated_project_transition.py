from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from projects.errors import ProjectsError
from projects.models import GeneratedProject
from projects.services import generated_project_transition
from projects.transitions import GenerationStatus


class Command(BaseCommand):
    help = "Move a generated project to another status (obeys the state machine, emits its event)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("id", type=int, help="generated project id")
        parser.add_argument("status", choices=[s.value for s in GenerationStatus], help="target status")

    def handle(self, *args: Any, id: int, status: str, **options: Any) -> None:
        try:
            generated_project = GeneratedProject.objects.select_related("project").get(pk=id)
        except GeneratedProject.DoesNotExist:
            raise CommandError(f"generated project {id} does not exist") from None
        try:
            generated_project_transition(generated_project=generated_project, to_status=status)
        except ProjectsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"generated project {id} is now {status}")
