"""The notifier's commands exit as a script can trust, run as an operator runs them (a subprocess):
0 done, 1 not done, 2 a bad argument, 3 nothing matched (no audit record then), 4 partly done; one line
on stderr for each error, never a traceback."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from notifications.intake.inbox import inbox_take
from notifications.models import Delivery, DeliveryRetry, InboxEvent, Redrive
from tests.notifier.conftest import envelope, generation_payload, notifier_database_url
from tests.support import NOTIFIER_MANAGE, command_run, one_line_error

pytestmark = pytest.mark.django_db(transaction=True)

MISSING_EVENT = "00000000-0000-4000-8000-000000000001"


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return command_run(NOTIFIER_MANAGE, "notifier_service.settings.test", notifier_database_url(), *args)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["inbox_purge", "--days", "0"], 2, "--days: at least 7"),
        (["inbox_purge", "--days", "-1"], 2, "--days: at least 7"),
        (["inbox_resume", "--event-id", "nope"], 2, "--event-id: not an event id (a UUID); got 'nope'"),
        (["inbox_resume", "--event-id", MISSING_EVENT], 3, f"no held event {MISSING_EVENT}"),
        (["deliveries_retry", "--id", "99999", "--reason", "x"], 3, "no delivery with id 99999; nothing made due"),
        (["deliveries_retry", "--limit", "0", "--reason", "x"], 2, "--limit: 1 to 10000; got 0"),
        (
            ["deliveries_retry", "--reason", "x", "--older-than", "ten minutes"],
            2,
            "--older-than: expected a number and a unit",
        ),
        (["deliveries_retry", "--reason", " "], 2, "--reason: say why"),
        (["poison", "replay", "--id", "m-missing", "--reason", "typo"], 3, "no poison message or held event m-missing"),
        (["poison", "replay", "--all", "--reason", "nothing held"], 3, "nothing held matches"),
    ],
)
def test_bad_arguments_and_missing_ids_are_one_line_with_their_exit_code(args, code, says):
    one_line_error(manage(*args), code, says)
    assert not Redrive.objects.exists() and not DeliveryRetry.objects.exists()  # nothing done: no audit record


def test_a_retry_of_what_matches_nothing_exits_3_and_of_what_matches_0():
    [delivery_id] = inbox_take(envelope(payload=generation_payload(webhook_url=None))).delivery_ids
    one_line_error(manage("deliveries_retry", "--reason", "smtp is back"), 3, "no failed delivery matches")
    assert not DeliveryRetry.objects.exists()
    Delivery.objects.filter(pk=delivery_id).update(status="failed", last_error="smtp down")
    dry = manage("deliveries_retry", "--id", str(delivery_id), "--reason", "smtp is back", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    dry_record = DeliveryRetry.objects.get()
    assert json.loads(dry.stdout) == {
        "retry_id": dry_record.pk, "matched": 1, "made_due": 0, "dry_run": True, "ids": [delivery_id]
    }  # fmt: skip
    done = manage("deliveries_retry", "--id", str(delivery_id), "--reason", "smtp is back", "--actor", "ops-ann")
    assert done.returncode == 0, done.stderr
    assert "1 delivery matched, 1 made due again" in done.stdout
    assert Delivery.objects.get(pk=delivery_id).status == "pending"
    record = DeliveryRetry.objects.exclude(pk=dry_record.pk).get()
    assert (record.actor, record.source, record.reason, record.matched, record.made_due, record.delivery_ids) == (
        "ops-ann", "cli", "smtp is back", 1, 1, [delivery_id]
    )  # fmt: skip
    assert record.selection == {"status": "failed", "ids": [delivery_id], "limit": 1000}


def test_a_resume_with_nothing_held_exits_3():
    one_line_error(manage("inbox_resume", "--json"), 3, "no event is held")


def test_the_inbox_purge_deletes_in_batches_and_says_so_in_json():
    for _ in range(3):
        inbox_take(envelope(payload=generation_payload(webhook_url=None)))
    InboxEvent.objects.update(received_at=datetime(2020, 1, 1, tzinfo=UTC))
    dry = manage("inbox_purge", "--days", "30", "--dry-run", "--json")
    assert dry.returncode == 0 and '"inbox_rows": 3' in dry.stdout and '"dry_run": true' in dry.stdout
    assert InboxEvent.objects.count() == 3
    done = manage("inbox_purge", "--days", "30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deleted 3 inbox rows and 0 closed gaps older than 30 days"
    assert not InboxEvent.objects.exists() and not Delivery.objects.exists()
