"""The claim on PostgreSQL as one statement: the same rule as ``claims.deliveries_claim`` (due, not held, its
endpoint enabled and not kept waiting by its breaker, within its room, earliest due first), the lost attempts put
on record and the claimed rows returned with their event and endpoint.

A claim is the delivery worker's loop, and under load each of its round trips waits for a core: one statement of
fixed text (prepared once per connection), sent with its BEGIN, lock and COMMIT in one round trip, in place of six
round trips and four ORM queries (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from psycopg.pq import TransactionStatus

from notifications.models import Delivery, DeliveryStatus, EndpointState, InboxEvent, WebhookEndpoint

#: The event's columns a claim loads (its raw message and stored effects stay behind).
_EVENT_FIELDS = [f for f in InboxEvent._meta.concrete_fields if f.name not in ("raw", "effects")]
_DELIVERY_FIELDS = list(Delivery._meta.concrete_fields)
_ENDPOINT_FIELDS = list(WebhookEndpoint._meta.concrete_fields)


def _columns(alias: str, fields: list[Any]) -> str:
    return ", ".join(f"{alias}.{f.column}" for f in fields)


_PENDING, _DISABLED = DeliveryStatus.PENDING.value, EndpointState.DISABLED.value
#: A "left" row: nothing but the endpoint's id, where a claimed row has its endpoint's first column (the id).
_LEFT_ROW = ", ".join(["NULL"] * (len(_DELIVERY_FIELDS) + len(_EVENT_FIELDS)) + ["endpoint_id"])
_LEFT_ROW += ", NULL" * (len(_ENDPOINT_FIELDS) - 1)

#: Rows: ("claimed", the delivery, its event, its endpoint) for each claimed, earliest due first, then ("left",
#: an endpoint id) for each endpoint that was full or had candidates that did not fit. Every endpoint and event
#: is found by primary key (LATERAL ... LIMIT 1, which the planner keeps as a probe per row): a plan made while
#: the tables were small would otherwise scan them.
CLAIM = f"""
    WITH in_flight AS (
        SELECT endpoint_id, count(*) AS n FROM notifier_delivery
        WHERE status = '{_PENDING}' AND endpoint_id IS NOT NULL AND claimed_until > %(now)s
          AND id <> ALL(%(sent)s::bigint[])
        GROUP BY endpoint_id
    ),
    room AS (
        SELECT f.endpoint_id, e.cap - f.n AS free
        FROM in_flight f CROSS JOIN LATERAL (
            SELECT CASE WHEN consecutive_failures >= %(breaker)s THEN 1 ELSE %(concurrency)s END AS cap
            FROM notifier_webhook_endpoint WHERE id = f.endpoint_id LIMIT 1
        ) AS e
    ),
    candidates AS (
        SELECT d.id, d.endpoint_id, d.next_attempt_at, d.claimed_until, coalesce(r.free, e.cap) AS free
        FROM notifier_delivery d
        LEFT JOIN LATERAL (
            SELECT state, last_failure_at, consecutive_failures >= %(breaker)s AS open,
                   CASE WHEN consecutive_failures >= %(breaker)s THEN 1 ELSE %(concurrency)s END AS cap
            FROM notifier_webhook_endpoint WHERE id = d.endpoint_id LIMIT 1
        ) AS e ON true
        LEFT JOIN room r ON r.endpoint_id = d.endpoint_id
        WHERE d.status = '{_PENDING}' AND d.next_attempt_at <= %(now)s
          AND (d.claimed_until IS NULL OR d.claimed_until <= %(now)s)
          AND (d.endpoint_id IS NULL OR (
              e.state <> '{_DISABLED}' AND coalesce(r.free, 1) > 0
              AND NOT coalesce(e.open AND d.next_attempt_at <= e.last_failure_at, false)
          ))
        ORDER BY d.next_attempt_at, d.id
        LIMIT %(candidates)s
        FOR UPDATE OF d SKIP LOCKED
    ),
    ranked AS (
        SELECT c.*, c.endpoint_id IS NULL
                    OR row_number() OVER (PARTITION BY c.endpoint_id ORDER BY c.next_attempt_at, c.id) <= c.free
                    AS fits
        FROM candidates c
    ),
    picked AS (
        SELECT id, claimed_until FROM ranked WHERE fits ORDER BY next_attempt_at, id LIMIT %(limit)s
    ),
    lost AS (
        INSERT INTO notifier_delivery_attempt (delivery_id, number, started_at, duration_ms, error, response_body)
        SELECT d.id, d.attempts_made, %(now)s, 0, %(lost)s, ''
        FROM picked p JOIN notifier_delivery d ON d.id = p.id WHERE p.claimed_until IS NOT NULL
    ),
    claimed AS (
        UPDATE notifier_delivery d
        SET claimed_until = %(lease)s, attempts = d.attempts + 1, attempts_made = d.attempts_made + 1,
            updated_at = %(now)s
        FROM picked p WHERE d.id = p.id
        RETURNING {_columns("d", _DELIVERY_FIELDS)}
    )
    SELECT 'claimed', {_columns("d", _DELIVERY_FIELDS)}, {_columns("i", _EVENT_FIELDS)},
           {_columns("e", _ENDPOINT_FIELDS)}
    FROM claimed d
    CROSS JOIN LATERAL (SELECT * FROM notifier_inbox WHERE id = d.event_id LIMIT 1) AS i
    LEFT JOIN LATERAL (SELECT * FROM notifier_webhook_endpoint WHERE id = d.endpoint_id LIMIT 1) AS e ON true
    UNION ALL
    SELECT 'left', {_LEFT_ROW}
    FROM (SELECT endpoint_id FROM room WHERE free <= 0
          UNION SELECT endpoint_id FROM ranked WHERE NOT fits) AS full_endpoints
"""


def _converters(fields: list[Any]) -> list[list[Any]]:
    """Each field's conversions from the database's form, as the ORM applies them when it loads a row."""
    return [field.get_db_converters(connection) for field in fields]


_DELIVERY_CONVERTERS, _EVENT_CONVERTERS, _ENDPOINT_CONVERTERS = (
    _converters(_DELIVERY_FIELDS), _converters(_EVENT_FIELDS), _converters(_ENDPOINT_FIELDS)
)  # fmt: skip


def _model(model: type[Model], fields: list[Any], converters: list[list[Any]], values: tuple[Any, ...]) -> Any:
    """An instance as the ORM would load it (values converted from the database's form; fields left out are
    deferred)."""
    converted = []
    for field, conversions, stored in zip(fields, converters, values, strict=True):
        value = stored
        for convert in conversions:
            value = convert(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def claim_statement_run(
    *, now: datetime, lease: datetime, limit: int, candidates: int, sent: Collection[int], breaker: int,
    concurrency: int, lost: str, lock: int,
) -> tuple[list[Delivery], set[int]]:  # fmt: skip
    """Claim in a transaction of its own, in one round trip: BEGIN, the claims' lock (advisory ``lock``), the
    claim and COMMIT go out together (psycopg's pipeline mode), each statement with a snapshot of its own, the
    claim's taken once the lock is held. The claimed deliveries, earliest due first, and the endpoints that
    lacked room. Errors are Django's, as any query's. Inside a caller's transaction the claim is part of it."""
    params = {
        "now": now, "lease": lease, "limit": limit, "candidates": candidates, "sent": list(sent),
        "breaker": breaker, "concurrency": concurrency, "lost": lost,
    }  # fmt: skip
    own = not connection.in_atomic_block  # inside a caller's transaction (tests), the claim is part of it
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        try:
            with raw.pipeline():
                if own:
                    raw.execute("BEGIN")
                raw.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
                claim = raw.execute(CLAIM, params)
                if own:
                    raw.execute("COMMIT")
            rows = claim.fetchall()
        except Exception:
            if own and not raw.closed and raw.info.transaction_status != TransactionStatus.IDLE:
                raw.execute("ROLLBACK")  # a failed claim leaves the connection as it found it
            raise
    return _claimed(rows)


def _claimed(rows: list[tuple[Any, ...]]) -> tuple[list[Delivery], set[int]]:
    """The claim's rows as deliveries with their event and endpoint loaded, and the endpoints that lacked room."""
    claimed, left = [], set()
    n_delivery, n_event = len(_DELIVERY_FIELDS), len(_EVENT_FIELDS)
    for kind, *values in rows:
        if kind == "left":
            left.add(values[n_delivery + n_event])
            continue
        delivery = _model(Delivery, _DELIVERY_FIELDS, _DELIVERY_CONVERTERS, tuple(values[:n_delivery]))
        event = _model(InboxEvent, _EVENT_FIELDS, _EVENT_CONVERTERS, tuple(values[n_delivery : n_delivery + n_event]))
        Delivery._meta.get_field("event").set_cached_value(delivery, event)
        endpoint_values = tuple(values[n_delivery + n_event :])
        endpoint = None
        if endpoint_values[0] is not None:
            endpoint = _model(WebhookEndpoint, _ENDPOINT_FIELDS, _ENDPOINT_CONVERTERS, endpoint_values)
        Delivery._meta.get_field("endpoint").set_cached_value(delivery, endpoint)
        claimed.append(delivery)
    claimed.sort(key=lambda d: (d.next_attempt_at, d.pk))
    return claimed, left
