"""Run in a subprocess against the embedded SQLite default; prints what it observed as JSON.

Started by test_sqlite.py with DATABASE_URL pointing at a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "projects_service.settings.dev")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from outbox.models import OutboxEvent  # noqa: E402
from projects import services  # noqa: E402
from projects.errors import InvalidTransition  # noqa: E402
from projects.models import GeneratedProject, Project, ProjectFile  # noqa: E402


def main() -> dict:
    seen: dict = {"vendor": connection.vendor}
    owner = get_user_model().objects.create(username="sqlite-user")
    project = Project.objects.create(owner=owner, name="embedded")
    generated = GeneratedProject.objects.create(project=project)  # autocommit, as in a shell
    generated.status = "generating"
    generated.save()
    try:
        generated.status = "archived"
        generated.save()
    except InvalidTransition as exc:
        seen["invalid"] = str(exc)
    try:
        with transaction.atomic():
            GeneratedProject.objects.create(project=project)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    services.project_files_create(
        generated_project=generated, files=[services.FileSpec(path=f"f{i}", file_size=i) for i in range(10)]
    )
    ProjectFile.objects.filter(path="f9").delete()
    generated.refresh_from_db()
    seen["totals"] = [generated.total_files, generated.total_size]

    barrier = threading.Barrier(16)
    results: list[str] = []
    targets = ["completed", "failed"] * 8

    def request(i: int) -> None:
        barrier.wait()
        try:
            fresh = GeneratedProject.objects.select_related("project").get(pk=generated.pk)
            services.generated_project_transition(generated_project=fresh, to_status=targets[i])
            results.append("won")
        except InvalidTransition:
            results.append("409")
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen["race"] = dict(Counter(results))
    seen["events"] = list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))
    seen["generated_projects"] = GeneratedProject.objects.count()
    return seen


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
