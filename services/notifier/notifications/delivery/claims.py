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
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, EndpointState, WebhookEndpoint

#: Candidates read per claim, as a multiple of the free senders (an endpoint without room skips its own).
CANDIDATES_PER_SLOT = 4
#: What a lost attempt says in its record.
LOST_ATTEMPT = "the sender stopped mid-attempt (its claim ran out); sent again"


def claim_lease() -> timedelta:
    """How long a claim holds a delivery: longer than any attempt can take (timeouts, name resolution)."""
    longest = max(float(settings.NOTIFIER["WEBHOOK_TIMEOUT"]), float(settings.EMAIL_TIMEOUT or 10))
    return timedelta(seconds=2 * longest + 5)


def _claimable(now: datetime) -> Q:
    """Pending, due, not held by a live claim, and not kept waiting by its endpoint's open breaker (due before
    the endpoint's last failure)."""
    breaker = int(settings.NOTIFIER["BREAKER_FAILURES"])
    waiting = Q(endpoint__consecutive_failures__gte=breaker, next_attempt_at__lte=F("endpoint__last_failure_at"))
    return (
        Q(status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        & ~waiting
    )


def endpoints_room(now: datetime) -> dict[int, int]:
    """Sends each endpoint may start now, for the endpoints that cannot take the full concurrency: an
    endpoint missing from the answer has all of its room."""
    config = settings.NOTIFIER
    concurrency, breaker = int(config["ENDPOINT_CONCURRENCY"]), int(config["BREAKER_FAILURES"])
    busy = Delivery.objects.filter(status=DeliveryStatus.PENDING.value, endpoint__isnull=False, claimed_until__gt=now)
    in_flight = dict(busy.values_list("endpoint_id").annotate(n=Count("id")).order_by())
    endpoints = WebhookEndpoint.objects.filter(
        Q(consecutive_failures__gte=breaker) | Q(pk__in=list(in_flight))
        | Q(state=EndpointState.DISABLED.value, deliveries__status=DeliveryStatus.PENDING.value)
    ).distinct()  # fmt: skip
    room = {}
    for pk, state, failures in endpoints.values_list("pk", "state", "consecutive_failures"):
        cap = 0 if state == EndpointState.DISABLED else 1 if failures >= breaker else concurrency
        room[pk] = max(0, cap - in_flight.get(pk, 0))
    return room


def _fitting(rows: Iterable[tuple[int, int | None]], room: dict[int, int], limit: int) -> list[int]:
    """The rows, in order, that fit their endpoint's room, at most ``limit``."""
    concurrency = int(settings.NOTIFIER["ENDPOINT_CONCURRENCY"])
    taken: Counter[int] = Counter()
    picked = []
    for delivery_id, endpoint_id in rows:
        if endpoint_id is not None:
            if taken[endpoint_id] >= room.get(endpoint_id, concurrency):
                continue
            taken[endpoint_id] += 1
        picked.append(delivery_id)
        if len(picked) == limit:
            break
    return picked


def deliveries_claim(*, limit: int) -> list[int]:
    """Claim up to ``limit`` due deliveries for this worker; their ids, earliest due first."""
    with transaction.atomic():
        _claims_serialize()
        now = timezone.now()
        room = endpoints_room(now)
        full = [pk for pk, left in room.items() if left <= 0]
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_claimable(now))
            .exclude(endpoint_id__in=full)
            .exclude(channel=Channel.WEBHOOK.value, endpoint__isnull=True)  # not assigned yet: next round
            .order_by("next_attempt_at", "id")
            .values_list("id", "endpoint_id", "claimed_until")[: limit * CANDIDATES_PER_SLOT]
        )
        claimed = _fitting([(pk, endpoint_id) for pk, endpoint_id, _ in rows], room, limit)
        if not claimed:
            return []
        lost = [pk for pk, _, claimed_until in rows if claimed_until is not None and pk in set(claimed)]
        if lost:
            _lost_attempts_record(lost, now)
        Delivery.objects.filter(pk__in=claimed).update(
            claimed_until=now + claim_lease(),
            attempts=F("attempts") + 1,
            attempts_made=F("attempts_made") + 1,
            updated_at=now,
        )
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
