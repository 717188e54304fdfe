"""Guarantee 8 in one process, on PostgreSQL: each aggregate's effects in sequence order, every gap seen."""

from __future__ import annotations

import json
import random
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from codegen_contracts import Envelope
from notifications.intake.inbox import inbox_take, inbox_take_many
from notifications.intake.sweep import order_sweep
from notifications.models import AggregateCursor, Delivery, InboxEvent, Notification, SequenceGap
from tests.notifier.conftest import envelope, generation_payload
from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def of(aggregate: str, *sequences: int) -> list:
    return [envelope(aggregate_id=aggregate, sequence=s) for s in sequences]


def notified_sequences(aggregate: str) -> list[int]:
    return list(
        Notification.objects.filter(event__aggregate_id=aggregate)
        .order_by("id")
        .values_list("event__sequence", flat=True)
    )


def test_events_arriving_in_reverse_take_effect_in_sequence_order():
    third, second, first = of("a", 3, 2, 1)
    assert inbox_take(third).status == "waiting"
    assert inbox_take(second).status == "waiting"
    assert notified_sequences("a") == []
    released = inbox_take(first)
    assert notified_sequences("a") == [1, 2, 3]
    assert len(released.delivery_ids) == 3  # the e-mails of all three, to attempt now
    assert released.released_occurred_at == (second.occurred_at, third.occurred_at)  # for their lag
    assert set(InboxEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert AggregateCursor.objects.get(aggregate_id="a").applied == 3


def test_one_batch_in_reverse_takes_effect_in_sequence_order():
    inbox_take_many(of("a", 3, 2, 1) + of("b", 2, 1))
    assert notified_sequences("a") == [1, 2, 3] and notified_sequences("b") == [1, 2]


def test_a_missing_sequence_becomes_a_reported_gap_and_its_late_arrival_closes_it(client, settings):
    first, third = of("gp-12", 1, 3)
    second = envelope(aggregate_id="gp-12", sequence=2, payload=generation_payload(webhook_url="https://h.example/x"))
    inbox_take_many([first, third])
    assert order_sweep(wait=60).released == 0  # not waited long enough
    swept = order_sweep(wait=0)
    assert (swept.released, swept.gaps) == (1, 1)
    assert notified_sequences("gp-12") == [1, 3]
    gap = SequenceGap.objects.get()
    assert (gap.aggregate_id, gap.sequence, gap.closed_at) == ("gp-12", 2, None)
    # reported: the command (exit 1, table and JSON), the API, the metrics
    settings.NOTIFIER = {**settings.NOTIFIER, "GAP_ALERT_AFTER": 0}
    out = StringIO()
    with pytest.raises(CommandError) as alerting:
        call_command("inbox", "gaps", "--json", stdout=out)
    assert alerting.value.returncode == 1 and str(alerting.value) == "1 aggregate with a gap open past its alert time"
    reported = json.loads(out.getvalue())
    assert (reported["aggregate"], reported["missing"], reported["alerting"]) == ("generated_project:gp-12", [2], True)
    table = StringIO()
    with pytest.raises(CommandError):
        call_command("inbox", "gaps", stdout=table)
    assert "generated_project:gp-12" in table.getvalue() and "outbox replay --aggregate" in table.getvalue()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("ops", password="pw"))
    api = client.get("/api/v1/gaps/").json()
    assert api["alerting"] == 1 and api["results"][0]["missing"] == [2]
    metrics = client.get("/metrics").content.decode()
    assert "notifier_sequence_gaps_open 1.0" in metrics and "notifier_sequence_gap_aggregates_alerting 1.0" in metrics
    assert client.get("/admin/notifications/sequencegap/?open=yes").status_code == 200
    # when the missing event arrives (an operator's replay), it takes effect once, marked late
    assert inbox_take(second).status == "processed"
    assert inbox_take(second).duplicate
    assert notified_sequences("gp-12") == [1, 3, 2]
    assert InboxEvent.objects.get(event_id=second.event_id).late
    late = Notification.objects.get(event__event_id=second.event_id)
    assert late.subject.startswith("[late] ")
    webhook = json.loads(Delivery.objects.get(event__event_id=second.event_id, channel="webhook").body)
    assert (webhook["data"]["sequence"], webhook["data"]["late"]) == (2, True)
    listed = client.get("/api/v1/notifications/").json()["results"]
    assert {(n["sequence"], n["late"]) for n in listed} == {(1, False), (3, False), (2, True)}
    assert SequenceGap.objects.get().closed_by == second.event_id
    call_command("inbox", "gaps", stdout=StringIO())  # no error: nothing open
    with pytest.raises(CommandError, match="--alert-after: expected a number and a unit"):
        call_command("inbox", "gaps", "--alert-after", "600", stdout=StringIO())
    call_command("inbox", "gaps", "--alert-after", "10m", stdout=StringIO())


def test_an_early_event_waits_no_longer_than_the_order_wait():
    inbox_take_many(of("a", 1, 3, 4, 6))
    swept = order_sweep(wait=0)
    # 3 and 4 go once 2 is given up on; then 6 once 5 is
    assert (swept.released, swept.gaps) == (3, 2)
    assert notified_sequences("a") == [1, 3, 4, 6]
    assert sorted(SequenceGap.objects.values_list("sequence", flat=True)) == [2, 5]


def test_redeliveries_and_duplicates_add_nothing_and_open_no_gap():
    events = of("a", 1, 2, 3)
    inbox_take_many([events[2], events[2]])  # waiting, twice
    inbox_take_many([events[0], events[2], events[0]])
    inbox_take_many(events + events)
    assert notified_sequences("a") == [1, 2, 3]
    assert order_sweep(wait=0).released == 0 and not SequenceGap.objects.exists()


def test_concurrent_intakes_of_one_aggregate_keep_its_order():
    events = of("hot", *range(1, 41))
    random.Random(7).shuffle(events)
    chunks = [events[i::4] for i in range(4)]

    def take(chunk: list) -> None:
        for event in chunk:
            inbox_take(event)
        connection.close()

    threads = [threading.Thread(target=take, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert notified_sequences("hot") == list(range(1, 41))
    assert not InboxEvent.objects.filter(status="waiting").exists() and not SequenceGap.objects.exists()


def test_with_ordering_off_events_take_effect_as_they_arrive(settings):
    settings.NOTIFIER = {**settings.NOTIFIER, "ORDERING": False}
    inbox_take_many(of("a", 3, 1))
    inbox_take(of("a", 2)[0])
    assert sorted(notified_sequences("a")) == [1, 2, 3] and not AggregateCursor.objects.exists()


def test_reads_releases_and_cursor_moves_find_their_rows_by_index_in_a_large_inbox():
    """The intake step's statements must not scan the inbox, the cursors or the webhook endpoints: a hash join over
    a sequential scan made intake slower with every row stored (the planner had no statistics yet)."""

    def hooked(aggregate_id: str, sequence: int, project_id: int = 4) -> Envelope:
        payload = generation_payload(project_id=project_id, webhook_url=f"http://127.0.0.1:9/{project_id}")
        return envelope(aggregate_id=aggregate_id, sequence=sequence, payload=payload)

    for start in range(0, 3000, 500):
        inbox_take_many([hooked(f"bulk-{n}", 1, project_id=n + 10) for n in range(start, start + 500)])
    inbox_take(hooked("a", 2))
    plans: list[str] = []
    tables = ("notifier_inbox", "notifier_aggregate", "notifier_webhook_endpoint")

    def explain(execute, sql, params, many, context):
        touches = any(table in sql for table in tables)
        if touches and not sql.startswith(("EXPLAIN", "SAVEPOINT", "RELEASE")):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        inbox_take_many([hooked("a", 1), hooked("a", 3)])  # releases 2
        inbox_take(hooked("a", 3))  # a second 3: late
    assert notified_sequences("a") == [1, 2, 3, 3]
    assert len(plans) >= 10  # lock, known ids, waiting rows, insert, release, endpoints, deliveries... of both
    assert any("notifier_webhook_endpoint" in plan for plan in plans)
    for plan in plans:
        assert not any(f"Seq Scan on {table}" in plan for table in tables), plan


def test_redeliveries_mixed_with_a_next_sequence_change_nothing_but_it():
    first, second = of("a", 1, 2)
    inbox_take_many([first, second])
    again = inbox_take_many([second, envelope(aggregate_id="a", sequence=3), first])
    assert [i.duplicate for i in again] == [True, False, True]
    assert notified_sequences("a") == [1, 2, 3]
    assert AggregateCursor.objects.get(aggregate_id="a").applied == 3
    only_duplicates = inbox_take_many([first, second])
    assert [i.duplicate for i in only_duplicates] == [True, True] and notified_sequences("a") == [1, 2, 3]


def while_another_intake_holds(aggregate_events: list, then) -> object:
    """Run ``then()`` in a thread while another transaction has taken ``aggregate_events`` in and not yet
    committed (so it holds their aggregates' cursors); commit it once ``then`` is seen waiting for a lock.
    Returns what ``then`` returned."""
    from django.db import close_old_connections, transaction

    holding, release, results = threading.Event(), threading.Event(), []

    def other() -> None:
        try:
            with transaction.atomic():
                inbox_take_many(aggregate_events)
                holding.set()
                release.wait(30)
        finally:
            close_old_connections()

    def waiter() -> None:
        try:
            results.append(then())
        finally:
            close_old_connections()

    first = threading.Thread(target=other)
    first.start()
    assert holding.wait(30)
    second = threading.Thread(target=waiter)
    second.start()
    with connection.cursor() as cursor:
        wait_for(lambda: (cursor.execute(WAITING_ON_A_LOCK), cursor.fetchone()[0])[1] > 0, what="the intake waiting")
    release.set()
    first.join(30)
    second.join(30)
    return results[0]


#: Backends of this database waiting for a row lock.
WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def test_an_intake_waiting_for_the_cursor_finds_its_event_taken_and_adds_nothing():
    first, second = of("a", 1, 2)
    inbox_take(first)
    again = while_another_intake_holds([second], lambda: inbox_take(second))  # the other delivery commits first
    assert again.duplicate
    assert notified_sequences("a") == [1, 2]
    assert AggregateCursor.objects.get(aggregate_id="a").applied == 2


def test_an_intake_waiting_for_the_cursor_decides_on_what_the_other_committed():
    events = of("a", 1, 2, 3)
    inbox_take(events[0])
    third = while_another_intake_holds([events[1]], lambda: inbox_take(events[2]))
    assert third.status == "processed"  # it saw the cursor at 2 after the other committed: in order, not waiting
    assert notified_sequences("a") == [1, 2, 3]
    assert not InboxEvent.objects.filter(late=True).exists() and not SequenceGap.objects.exists()


def test_a_waiting_event_without_kept_effects_still_takes_effect_in_order():
    """Waiting rows written by the release before this one kept no effects: they are planned from their message once."""
    first, second, third = of("a", 1, 2, 3)
    inbox_take_many([second, third])
    assert InboxEvent.objects.filter(status="waiting", effects__isnull=False).count() == 2
    InboxEvent.objects.filter(status="waiting").update(effects=None)
    released = inbox_take(first)
    assert notified_sequences("a") == [1, 2, 3] and len(released.delivery_ids) == 3
    assert released.released_occurred_at == (second.occurred_at, third.occurred_at)
    assert not InboxEvent.objects.filter(effects__isnull=False).exists()


def test_aggregate_keys_compare_byte_by_byte_whatever_the_database_locale():
    # given the tables intake sorts and locks by aggregate, on PostgreSQL
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_name IN ('notifier_inbox', 'notifier_aggregate', 'notifier_gap') "
            "AND column_name IN ('aggregate_type', 'aggregate_id')"
        )
        columns = cursor.fetchall()
    # then each key column is declared "C" (not the database's default, which may be linguistic), so the
    # statement locks cursors in the order Python sorts them in
    assert len(columns) == 6
    assert {collation for _, _, collation in columns} == {"C"}, columns
