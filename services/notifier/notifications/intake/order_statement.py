"""Taking a batch in, each aggregate's events in sequence order, in one statement (PostgreSQL, autocommit).

The statement decides, for every aggregate whose case is plain, what ``order_decide`` would: its
arrivals are new event ids with distinct sequences after the cursor, and its waiting events (if
any) kept their effects when they arrived (``InboxEvent.effects``). The unbroken run after the
cursor, arrivals and waiting events together, takes effect in sequence order; the rest waits,
keeping its effects. It moves the cursor, writes the inbox rows, releases the waiting ones and
writes the notifications and deliveries, all at once.

It reads the cursors and waiting rows in its own snapshot and moves each cursor only if it is
still what it read (compare-and-set, in (type, id) order), writing only the aggregates whose
cursor moved: an intake that committed meanwhile changed ``applied`` or ``waiting``. An aggregate
it did not decide (a late event, two events of one sequence, a waiting event without kept
effects, a cursor that moved meanwhile) is left untouched, for ``inbox._ordered_take``'s general
path. Every lookup is one index probe per row, as ``sequencing`` defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from notifications.intake.intake_writes import INBOX_ENVELOPE_FIELDS, PG_EVENT_COLUMNS, pg_params
from notifications.intake.plans import IntakePlan, Taken
from notifications.intake.sequencing import CURSOR_OF, CURSORS_MOVE_CHECKED, INBOX_HAS, WAITING_OF, Aggregate

#: The inbox columns the statement writes from its input (the status and effects it decides).
_COPIED = (*INBOX_ENVELOPE_FIELDS, "schema_version", "reason", "raw", "late")

_SQL = f"""
WITH input AS (
    SELECT * FROM json_to_recordset(%(events)s::json) AS t({PG_EVENT_COLUMNS})
), dinput AS (
    SELECT * FROM json_to_recordset(%(deliveries)s::json)
        AS d(event_id uuid, channel text, target text, subject text, body text, ord integer)
), checked_in AS (
    SELECT input.*, k.found IS NOT NULL AS known FROM input
    LEFT JOIN LATERAL ({INBOX_HAS.format(event_id="input.event_id")}) k ON true
), arrivals AS (
    SELECT * FROM checked_in WHERE NOT known
), cur AS (
    SELECT a.t, a.i, c.applied, c.waiting
    FROM (SELECT DISTINCT aggregate_type AS t, aggregate_id AS i FROM arrivals) a
    LEFT JOIN LATERAL ({CURSOR_OF.format(row="a")}) c ON true
), held AS (
    SELECT cur.t, cur.i, w.id, w.sequence AS s, w.event_type, w.effects FROM cur
    CROSS JOIN LATERAL ({WAITING_OF.format(columns="id, sequence, event_type, effects", cursor="cur", row="cur")}) w
), pending AS (
    SELECT aggregate_type AS t, aggregate_id AS i, sequence AS s, false AS stored, true AS ok FROM arrivals
    UNION ALL
    SELECT t, i, s, true, effects IS NOT NULL FROM held
), decided AS (
    -- sorted by sequence, the run after the cursor is where s - rank equals it; the rest waits
    SELECT t, i, seen_applied, seen_waiting, applied + run AS applied, n - run AS waiting FROM (
        SELECT p.t, p.i, cur.applied AS seen_applied, cur.waiting AS seen_waiting,
               coalesce(cur.applied, 0) AS applied, count(*) AS n,
               count(*) FILTER (WHERE p.offset_ = coalesce(cur.applied, 0)) AS run
        FROM (SELECT *, s - row_number() OVER (PARTITION BY t, i ORDER BY s) AS offset_ FROM pending) p
        JOIN cur ON cur.t = p.t AND cur.i = p.i
        GROUP BY p.t, p.i, cur.applied, cur.waiting
        HAVING count(DISTINCT p.s) = count(*) AND bool_and(p.ok) AND min(p.s) > coalesce(cur.applied, 0)
            AND count(*) FILTER (WHERE p.stored) = coalesce(cur.waiting, 0)
    ) runs
), ok AS ({CURSORS_MOVE_CHECKED.format(moves="decided")}
), go AS (
    SELECT a.*, a.sequence <= ok.applied AS applies
    FROM arrivals a JOIN ok ON ok.t = a.aggregate_type AND ok.i = a.aggregate_id
), inserted AS (
    INSERT INTO notifier_inbox ({", ".join(_COPIED)}, status, effects, received_at)
    SELECT {", ".join(_COPIED)}, CASE WHEN applies THEN status ELSE 'waiting' END,
        CASE WHEN applies THEN NULL ELSE jsonb_build_object(
            'status', status, 'notify', notify, 'project_id', project_id, 'recipient', recipient,
            'subject', subject, 'body', body, 'deliveries', coalesce((
                SELECT jsonb_agg(jsonb_build_object('channel', d.channel, 'target', d.target, 'subject', d.subject,
                                                    'body', d.body, 'ord', d.ord))
                FROM dinput d WHERE d.event_id = go.event_id), '[]'::jsonb)
        ) END,
        now()
    FROM go ORDER BY ord
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id, status
), released AS (
    UPDATE notifier_inbox AS w SET status = h.effects ->> 'status', effects = NULL
    FROM held h
    WHERE w.id = ANY(ARRAY(
            SELECT h2.id FROM held h2 JOIN ok ON ok.t = h2.t AND ok.i = h2.i WHERE h2.s <= ok.applied
        )) AND h.id = w.id AND w.status = 'waiting'
    RETURNING w.id, w.event_id, w.status, w.occurred_at, h.t, h.i
), effects AS (
    SELECT ins.id, go.aggregate_type AS t, go.aggregate_id AS i, go.sequence AS s, go.event_id, go.event_type,
           go.notify, go.project_id, go.recipient, go.subject, go.body, NULL::jsonb AS kept
    FROM inserted ins JOIN go USING (event_id) WHERE go.applies
    UNION ALL
    SELECT r.id, h.t, h.i, h.s, r.event_id, h.event_type, (h.effects ->> 'notify')::boolean,
           (h.effects ->> 'project_id')::bigint, h.effects ->> 'recipient', h.effects ->> 'subject',
           h.effects ->> 'body', h.effects -> 'deliveries'
    FROM released r JOIN held h ON h.id = r.id
), notification AS (
    INSERT INTO notifier_notification (event_id, event_type, project_id, recipient, channel, subject, body,
                                       created_at)
    SELECT id, event_type, project_id, recipient, 'in_app', subject, body, now()
    FROM effects WHERE notify ORDER BY t, i, s
), deliveries AS (
    INSERT INTO notifier_delivery (event_id, channel, target, subject, body, status, attempts, last_error,
                                   created_at, updated_at)
    SELECT e.id, d.channel, d.target, d.subject, d.body, 'pending', 0, '', now(), now()
    FROM effects e CROSS JOIN LATERAL (
        SELECT channel, target, subject, body, ord FROM dinput WHERE e.kept IS NULL AND dinput.event_id = e.event_id
        UNION ALL
        SELECT * FROM jsonb_to_recordset(e.kept) AS x(channel text, target text, subject text, body text, ord integer)
    ) d
    ORDER BY e.t, e.i, e.s, d.ord
    RETURNING id, event_id
)
SELECT 'taken', ins.event_id, ins.status, array(SELECT d.id FROM deliveries d WHERE d.event_id = ins.id ORDER BY d.id),
       NULL, NULL, NULL::timestamptz
FROM inserted ins
UNION ALL
SELECT 'released', r.event_id, r.status, array(SELECT d.id FROM deliveries d WHERE d.event_id = r.id ORDER BY d.id),
       r.t, r.i, r.occurred_at
FROM released r
UNION ALL
SELECT 'known', event_id, NULL, NULL, NULL, NULL, NULL FROM checked_in WHERE known
UNION ALL
SELECT 'decided', NULL, NULL, NULL, t, i, NULL FROM ok
"""


def order_take_statement(plans: Sequence[IntakePlan]) -> Taken:
    """Take ``plans`` (distinct event ids, in aggregate and sequence order) in with one statement, in its
    own transaction; see the module. Must not run inside a transaction that holds their cursors."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL, pg_params([(plan, None) for plan in plans]))
        rows = cursor.fetchall()
    result = Taken()
    decided: set[Aggregate] = set()
    known: set[object] = set()
    released: dict[Aggregate, list[tuple[tuple[int, ...], datetime]]] = {}
    for kind, event_id, status, delivery_ids, aggregate_type, aggregate_id, occurred_at in rows:
        if kind == "taken":
            result.taken[event_id] = tuple(delivery_ids)
            result.statuses[event_id] = status
        elif kind == "released":
            released.setdefault((aggregate_type, aggregate_id), []).append((tuple(delivery_ids), occurred_at))
        elif kind == "known":
            known.add(event_id)
        else:
            decided.add((aggregate_type, aggregate_id))
    result.undecided = [p for p in plans if p.aggregate not in decided and p.envelope.event_id not in known]
    for aggregate, releases in released.items():
        # a release needs an arrival that took effect: the first of its aggregate attempts them
        releaser = next(
            p.envelope.event_id
            for p in plans
            if p.aggregate == aggregate and result.statuses.get(p.envelope.event_id, "waiting") != "waiting"
        )
        result.taken[releaser] += tuple(d for delivery_ids, _ in releases for d in delivery_ids)
        result.released_occurred_at[releaser] = tuple(occurred_at for _, occurred_at in releases)
    return result
