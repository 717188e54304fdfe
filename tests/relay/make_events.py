"""`python -m tests.relay.make_events N`: create N committed events in the configured database."""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "projects_service.settings.test")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from projects import services  # noqa: E402
from projects.models import Project  # noqa: E402

if __name__ == "__main__":
    owner, _ = get_user_model().objects.get_or_create(username="events")
    project = Project.objects.create(owner=owner, name="events")
    for _ in range(int(sys.argv[1])):
        services.generated_project_create(project=project)
