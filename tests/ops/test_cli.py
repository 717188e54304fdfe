"""Guarantee 6 on the command line: `manage.py outbox status|list|show|replay|purge`."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from codegen_config.commands import ExitCode
from outbox.models import OutboxEvent, OutboxReplay, OutboxReplayEvent
from tests.projects.factories import GeneratedProjectFactory

pytestmark = pytest.mark.django_db


def outbox(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def failing(*args: str) -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        outbox(*args)
    return excinfo.value


@pytest.fixture
def rows():
    """Two generated projects, four events: the first dead, the second published, two pending."""
    first, second = GeneratedProjectFactory(), GeneratedProjectFactory()
    first.status = "generating"
    first.save()
    first.status = "completed"
    first.save()
    events = list(OutboxEvent.objects.order_by("id"))
    OutboxEvent.objects.filter(pk=events[0].pk).update(state="dead", attempts=10, last_error="redis said no")
    OutboxEvent.objects.filter(pk=events[1].pk).update(state="published", published_at=timezone.now())
    return {"first": first, "second": second, "events": events}


def test_status_counts_and_exit_code(rows):
    error = failing("status")
    assert error.returncode == 1 and "1 dead rows" in str(error)
    OutboxEvent.objects.filter(state="dead").delete()
    text = outbox("status")
    assert "pending 2" in text and "published 1" in text and "no relay has reported" in text
    OutboxEvent.objects.filter(state="pending").update(created_at=timezone.now() - timedelta(hours=1))
    assert "oldest pending row" in str(failing("status", "--max-age", "10m"))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("outbox", "status", "--json", "--max-age", "1s", stdout=out)
    data = json.loads(out.getvalue())
    assert data["by_state"]["pending"] == 2 and data["by_type"]["generation.started"]
    assert data["problems"] == ["oldest pending row is 3600s old"]


def test_list_filters_and_json_parses_back(rows):
    lines = outbox("list", "--json").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert len(parsed) == 4 and set(parsed[0]) >= {"event_id", "event_type", "state", "attempts", "created_at"}
    assert [p["state"] for p in map(json.loads, outbox("list", "--state", "dead", "--json").splitlines())] == ["dead"]
    typed = outbox("list", "--type", "generation.completed", "--json").splitlines()
    assert [json.loads(t)["event_type"] for t in typed] == ["generation.completed"]
    first = rows["first"]
    aggregate = outbox("list", "--aggregate", f"generated_project:{first.pk}", "--json").splitlines()
    assert len(aggregate) == 3
    assert outbox("list", "--older-than", "1h", "--json") == ""
    assert len(outbox("list", "--since", "2000-01-01T00:00:00Z", "--json").splitlines()) == 4
    assert outbox("list", "--until", "2000-01-01T00:00:00Z", "--json") == ""
    page2 = outbox("list", "--limit", "2", "--page", "2", "--json").splitlines()
    assert len(page2) == 2


def test_list_table_is_aligned(rows):
    lines = outbox("list").splitlines()
    assert lines[0].split()[:3] == ["event_id", "event_type", "aggregate"]
    assert lines[-1] == "(4 rows of 4, page 1 of 1)"
    assert len({line.index("generation") for line in lines[1:-1]}) == 1  # one column start


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--state", "stuck"], "state: must be one of pending, published, dead"),
        (["list", "--aggregate", "generated_project"], "TYPE:ID"),
        (["list", "--older-than", "ten minutes"], "a number and a unit"),
        (["list", "--since", "yesterday"], "RFC 3339"),
        (["show", "not-a-uuid"], "not an event id"),
        (["show", "5b1d7b0e-1d7f-4a52-8b7b-7f0c1f9f2d11"], "no outbox row"),
        (["replay", "--state", "dead"], "--reason is required"),
        (["replay", "--reason", "x"], "refusing to replay every row"),
        (["replay", "nope", "--reason", "x"], "not a UUID"),
        (["replay", "--state", "dead", "--reason", "x", "--rate", "0"], "--rate: must be positive"),
        (["purge", "--older-than", "soon"], "a number and a unit"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(rows, args, message):
    assert message in str(failing(*args))


def test_show_has_everything_and_the_replays(rows):
    dead = rows["events"][0]
    outbox("replay", str(dead.event_id), "--reason", "redis is back")
    detail = json.loads(outbox("show", str(dead.event_id)))
    assert detail["payload"]["generated_project_id"] == rows["first"].pk
    assert detail["state"] == "pending" and detail["attempts"] == 0
    assert set(detail) >= {"headers", "created_at", "claimed_at", "published_at", "next_attempt_at", "last_error"}
    [replay] = detail["replays"]
    assert replay["reason"] == "redis is back" and replay["actor"]


def test_dry_run_changes_nothing(rows):
    before = list(OutboxEvent.objects.values_list("state", "attempts"))
    out = outbox("replay", "--state", "dead", "--reason", "check", "--dry-run")
    assert "1 row matches" in out and "dry run: nothing changed" in out
    assert list(OutboxEvent.objects.values_list("state", "attempts")) == before
    assert not OutboxReplay.objects.exists()


def test_replay_by_filter_resets_and_audits(rows):
    out = outbox("replay", "--state", "dead", "--reason", "broker outage over")
    assert "replayed 1 row (" in out
    row = OutboxEvent.objects.get(pk=rows["events"][0].pk)
    assert (row.state, row.attempts, row.last_error) == ("pending", 0, "")
    audit = OutboxReplay.objects.get()
    assert audit.count == 1 and audit.source == "cli" and audit.filters == {"state": "dead"}
    assert [str(e) for e in OutboxReplayEvent.objects.values_list("event_id", flat=True)] == [str(row.event_id)]


def test_replay_of_a_published_row_publishes_it_again(rows):
    published = rows["events"][1]
    outbox("replay", str(published.event_id), "--reason", "consumer lost it")
    row = OutboxEvent.objects.get(pk=published.pk)
    assert row.state == "pending" and row.published_at is None and row.event_id == published.event_id


def test_new_id_needs_confirmation_and_links_to_the_original(rows):
    published = rows["events"][1]
    assert "confirm with --yes" in str(failing("replay", str(published.event_id), "--reason", "reprocess", "--new-id"))
    assert OutboxEvent.objects.count() == 4
    outbox("replay", str(published.event_id), "--reason", "reprocess", "--new-id", "--yes")
    new = OutboxEvent.objects.get(replay_of=published.event_id)
    assert new.event_id != published.event_id and new.state == "pending"
    assert new.payload == OutboxEvent.objects.get(pk=published.pk).payload
    assert OutboxEvent.objects.get(pk=published.pk).state == "published"  # the original stays as it was
    link = OutboxReplayEvent.objects.get()
    assert link.new_event_id == new.event_id


def test_purge_removes_only_old_published_rows(rows):
    OutboxEvent.objects.filter(state="published").update(published_at=timezone.now() - timedelta(days=3))
    assert "would delete 1" in outbox("purge", "--older-than", "1d", "--dry-run")
    assert OutboxEvent.objects.filter(state="published").count() == 1
    assert "deleted 1" in outbox("purge", "--older-than", "1d")
    assert OutboxEvent.objects.filter(state="dead").count() == 1
    assert OutboxEvent.objects.filter(state="pending").count() == 2


def test_replay_of_an_id_that_does_not_exist_exits_3_naming_it_and_audits_nothing(rows):
    missing = "00000000-0000-4000-8000-000000000001"
    error = failing("replay", missing, "--reason", "typo")

    assert error.returncode == ExitCode.NOTHING_MATCHED
    assert str(error) == f"no outbox row with event id {missing}"
    assert not OutboxReplay.objects.exists()


def test_replay_or_dry_run_matching_nothing_exits_3(rows):
    for extra in ([], ["--dry-run"]):
        error = failing("replay", "--type", "export.failed", "--reason", "none", *extra)
        assert error.returncode == ExitCode.NOTHING_MATCHED
    assert not OutboxReplay.objects.exists()


def test_bad_arguments_exit_2_and_unknown_rows_3(rows):
    assert failing("list", "--limit", "0").returncode == ExitCode.BAD_ARGUMENT
    assert failing("show", "nope").returncode == ExitCode.BAD_ARGUMENT
    assert failing("show", "00000000-0000-4000-8000-000000000001").returncode == ExitCode.NOTHING_MATCHED


def test_purge_says_its_age_as_written(rows):
    said = outbox("purge", "--older-than", "90m", "--dry-run").strip()
    assert said == "would delete 0 published rows older than 1h30m"


def test_replay_and_purge_print_json_for_scripts(rows):
    dry = json.loads(outbox("replay", "--state", "dead", "--reason", "check", "--dry-run", "--json"))
    assert (dry["matched"], dry["replayed"], dry["dry_run"], dry["audit_id"]) == (1, 0, True, None)
    done = json.loads(outbox("replay", "--state", "dead", "--reason", "redis back", "--json"))
    assert (done["matched"], done["replayed"], done["dry_run"]) == (1, 1, False)
    assert done["audit_id"] == OutboxReplay.objects.get().pk
    purged = json.loads(outbox("purge", "--older-than", "7d", "--dry-run", "--json"))
    assert purged == {"published_rows": 0, "older_than_seconds": 604800.0, "dry_run": True}
