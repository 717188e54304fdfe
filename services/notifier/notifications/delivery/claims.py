"""Claiming due deliveries: the earliest due first, never more than an endpoint's room.

An endpoint's room is ``NOTIFIER_WEBHOOK_ENDPOINT_CONCURRENCY`` less its sends in flight (claims
whose lease has not run out); one while its breaker is open, and then only for a delivery that came
due after its last failure (a probe: ``notifications.delivery.endpoints``); none while disabled.
A claim is one short transaction that other workers' claims wait for (an advisory lock), so what it
counts of each endpoint's sends in flight stays true until it commits: however many workers claim,
no endpoint gets more than its room. Rows being settled meanwhile are skipped (``SKIP LOCKED``). A
claim is a lease: a worker killed mid-send leaves the delivery to be claimed again when it ends
(the attempt it lost is put on record then), and sent again with the same ``webhook-id``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from notifications.config import notifier_config
from notifications.delivery.claim_statement import claim_statement_run
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, EndpointState

#: Candidates read per claim, as a multiple of the free senders (an endpoint without room skips its own).
CANDIDATES_PER_SLOT = 4
#: What a lost attempt says in its record.
LOST_ATTEMPT = "the sender stopped mid-attempt (its claim ran out); sent again"


def claim_lease() -> timedelta:
    """How long a claim holds a delivery: longer than any attempt can take (timeouts, name resolution)."""
    longest = max(notifier_config().webhook_timeout, float(settings.EMAIL_TIMEOUT or 10))
    return timedelta(seconds=2 * longest + 5)


def _claimable(now: datetime) -> Q:
    """Pending, due, not held by a live claim, its endpoint (if it has one yet) enabled, and not kept waiting by
    its endpoint's open breaker (due before the endpoint's last failure)."""
    breaker = notifier_config().breaker_failures
    waiting = Q(endpoint__consecutive_failures__gte=breaker, next_attempt_at__lte=F("endpoint__last_failure_at"))
    return (
        Q(status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        & ~Q(endpoint__state=EndpointState.DISABLED.value)
        & ~waiting
    )


def endpoints_in_flight(now: datetime, *, sent: Collection[int] = ()) -> dict[int, tuple[int, int]]:
    """Each endpoint with sends in flight (claims whose lease has not run out): how many, and its failures in a
    row. ``sent``: deliveries this worker holds whose send has ended (their claims stand until the attempt is
    on record, but they are no longer in flight)."""
    busy = Delivery.objects.filter(status=DeliveryStatus.PENDING.value, endpoint__isnull=False, claimed_until__gt=now)
    if sent:
        busy = busy.exclude(pk__in=list(sent))
    counts = busy.values_list("endpoint_id").annotate(n=Count("id"), failures=Max("endpoint__consecutive_failures"))
    return {endpoint_id: (n, failures) for endpoint_id, n, failures in counts.order_by()}


def _endpoint_cap(failures: int) -> int:
    """Sends an endpoint may have in flight: one while its breaker is open."""
    config = notifier_config()
    return 1 if failures >= config.breaker_failures else config.endpoint_concurrency


def _fitting(
    candidates: Iterable[Delivery], in_flight: dict[int, tuple[int, int]], limit: int, left: set[int | None]
) -> list[Delivery]:
    """The candidates, in order, that fit their endpoint's room, at most ``limit``; the endpoints of those that did
    not fit go into ``left``."""
    taken: Counter[int] = Counter()
    picked = []
    for delivery in candidates:
        endpoint = delivery.endpoint
        if endpoint is not None:
            room = _endpoint_cap(endpoint.consecutive_failures) - in_flight.get(endpoint.pk, (0, 0))[0]
            if taken[endpoint.pk] >= room:
                left.add(endpoint.pk)
                continue
            taken[endpoint.pk] += 1
        picked.append(delivery)
        if len(picked) == limit:
            break
    return picked


def deliveries_claim(*, limit: int, sent: Collection[int] = (), left: set[int | None] | None = None) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries for this worker, earliest due first, with their event (without its
    raw message) and endpoint. ``sent``: this worker's deliveries whose send has ended but whose attempt is
    not on record yet (``endpoints_in_flight``). ``left``, when given, receives what may have been left due for
    lack of room: the ids of endpoints that were full, and None when ``limit`` was reached (a send that ends
    there makes room for them)."""
    left = set() if left is None else left
    now = timezone.now()
    claim = _claim_statement if connection.vendor == "postgresql" else _claim_orm
    claimed = claim(now, now + claim_lease(), limit, sent, left)
    if len(claimed) == limit:
        left.add(None)
    return claimed


def _claim_statement(
    now: datetime, lease: datetime, limit: int, sent: Collection[int], left: set[int | None]
) -> list[Delivery]:
    """The claim as one PostgreSQL statement, in a transaction of its own with the lock, in one round trip
    (``claim_statement``)."""
    config = notifier_config()
    claimed, lacking = claim_statement_run(
        now=now, lease=lease, limit=limit, candidates=limit * CANDIDATES_PER_SLOT, sent=sent,
        breaker=config.breaker_failures, concurrency=config.endpoint_concurrency, lost=LOST_ATTEMPT,
        lock=CLAIM_LOCK,
    )  # fmt: skip
    left.update(lacking)
    return claimed


def _claim_orm(
    now: datetime, lease: datetime, limit: int, sent: Collection[int], left: set[int | None]
) -> list[Delivery]:
    """The claim through the ORM (SQLite, for development): the rule that ``claim_statement`` says in SQL."""
    with transaction.atomic():
        _claims_serialize()
        in_flight = endpoints_in_flight(now, sent=sent)
        full = [pk for pk, (n, failures) in in_flight.items() if n >= _endpoint_cap(failures)]
        candidates = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .defer("event__raw", "event__effects")
            .filter(_claimable(now))
            .exclude(endpoint_id__in=full)
            .order_by("next_attempt_at", "id")[: limit * CANDIDATES_PER_SLOT]
        )
        left.update(full)
        claimed = _fitting(candidates, in_flight, limit, left)
        if not claimed:
            return []
        lost = [d.pk for d in claimed if d.claimed_until is not None]
        if lost:
            _lost_attempts_record(lost, now)
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            claimed_until=lease, attempts=F("attempts") + 1, attempts_made=F("attempts_made") + 1, updated_at=now
        )
    for delivery in claimed:
        delivery.claimed_until, delivery.updated_at = lease, now
        delivery.attempts += 1
        delivery.attempts_made += 1
    return claimed


#: The PostgreSQL advisory lock that claims take, one at a time across every delivery worker, so that what a
#: claim counts of each endpoint's sends in flight stays true until it commits ("noti" in ASCII).
CLAIM_LOCK = 0x6E6F7469


def _claims_serialize() -> None:
    """Wait for the claim of any other worker to commit (PostgreSQL; SQLite runs one worker)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK])


def _lost_attempts_record(delivery_ids: list[int], now: datetime) -> None:
    """Put on record the attempts that workers killed mid-send never settled."""
    made = dict(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "attempts_made"))
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery_id=pk, number=made[pk], started_at=now, error=LOST_ATTEMPT) for pk in delivery_ids
    )
