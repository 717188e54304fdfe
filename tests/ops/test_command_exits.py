"""The projects service's commands exit as a script can trust, run as an operator runs them (a subprocess):
0 done, 1 not done, 2 a bad argument, 3 nothing matched (no audit record then); one line on stderr for each
error, never a traceback; JSON with ``--json``."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.db import connection

from outbox.models import OutboxReplay
from projects.models import GeneratedProject
from tests.projects.factories import GeneratedProjectFactory, ProjectFileFactory
from tests.support import MANAGE, command_run, one_line_error

pytestmark = pytest.mark.django_db(transaction=True)

MISSING_EVENT = "00000000-0000-4000-8000-000000000001"


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    return command_run(MANAGE, "projects_service.settings.test", url, *args)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["outbox", "replay", MISSING_EVENT, "--reason", "typo"], 3, f"no outbox row with event id {MISSING_EVENT}"),
        (["outbox", "replay", "--state", "dead", "--reason", "none dead"], 3, "no outbox row matches"),
        (["outbox", "list", "--limit", "0"], 2, "--limit"),
        (["outbox", "purge", "--older-than", "ten days"], 2, "--older-than"),
        (["recount", "--id", "99999"], 3, "no generated project with id 99999; nothing recounted"),
        (["generated_project_transition", "99999", "generating"], 3, "no generated project with id 99999"),
    ],
)
def test_bad_arguments_and_missing_ids_are_one_line_with_their_exit_code(args, code, says):
    GeneratedProjectFactory()
    one_line_error(manage(*args), code, says)
    assert not OutboxReplay.objects.exists()  # nothing matched: no audit record


def test_a_transition_the_machine_refuses_exits_1_and_a_done_one_prints_json():
    generated = GeneratedProjectFactory()
    one_line_error(manage("generated_project_transition", str(generated.pk), "completed"), 1, "pending")
    done = manage("generated_project_transition", str(generated.pk), "generating", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"id": generated.pk, "from_status": "pending", "to_status": "generating"}
    assert GeneratedProject.objects.get(pk=generated.pk).status == "generating"


def test_a_recount_that_finds_drift_exits_1_until_fixed_and_says_so_in_json():
    generated = GeneratedProjectFactory()
    ProjectFileFactory(generated_project=generated, file_size=10)
    GeneratedProject.objects.filter(pk=generated.pk).update(total_files=7)  # drift, as a bad migration would leave
    one_line_error(manage("recount", "--json"), 1, "1 generated project drifted; run with --fix to repair")
    fixed = manage("recount", "--fix", "--json")
    assert fixed.returncode == 0, fixed.stderr
    [row] = json.loads(fixed.stdout)["drifted"]
    assert (row["pk"], row["total_files"], row["counted_files"]) == (generated.pk, 7, 1)
    clean = manage("recount", "--id", str(generated.pk), "--json")
    assert clean.returncode == 0 and json.loads(clean.stdout) == {"drifted": [], "fixed": False}
