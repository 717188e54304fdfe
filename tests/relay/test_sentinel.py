"""The relay's Redis through Sentinel, and OUTBOX_MIN_REPLICAS (Redis WAIT), on a real primary, replica and
three Sentinels."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from codegen_config import RedisTarget, redis_target
from devinfra.sentinel import MASTER, SentinelGroup
from outbox.errors import PublishError
from outbox.publisher import DramatiqRedisPublisher, Prepared, prepare
from tests.relay.conftest import MANAGE
from tests.relay.test_message_format import row

QUEUE = "dramatiq:codegen-events"


@pytest.fixture(scope="module")
def group() -> Iterator[SentinelGroup]:
    group = SentinelGroup().start()
    yield group
    group.stop()


def target(group: SentinelGroup) -> RedisTarget:
    return RedisTarget(sentinels=tuple(("127.0.0.1", sentinel.port) for sentinel in group.sentinels), master=MASTER)


def claimed(n: int) -> list[Prepared]:
    return [prepare(row(), f"redis-id-{uuid.uuid4()}") for _ in range(n)]


def test_the_environment_names_one_server_or_the_sentinels(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:secret@cache.internal:6380/2")
    monkeypatch.delenv("REDIS_SENTINELS", raising=False)
    one = redis_target()
    assert (one.url, one.sentinels, one.describe()) == ("redis://:secret@cache.internal:6380/2", (),
                                                        "redis://cache.internal:6380/2")  # fmt: skip
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1:26379, [fd00::2]:26379")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "events")
    monkeypatch.setenv("REDIS_PASSWORD", "pw")
    several = redis_target()
    assert several.sentinels == (("10.0.0.1", 26379), ("fd00::2", 26379))
    assert (several.master, several.password, several.describe()) == (
        "events", "pw", "sentinel:events@10.0.0.1:26379,fd00::2:26379"
    )  # fmt: skip
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1")
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINELS must be host:port"):
        redis_target()


def test_a_publisher_through_sentinel_writes_to_the_primary_and_waits_for_its_replica(group):
    publisher = DramatiqRedisPublisher(target(group), min_replicas=1, replica_timeout=2.0)
    try:
        assert publisher.durability_warnings() == []
        assert publisher.publish(claimed(3)) == []
        primary, replica = (redis.Redis(port=server.port) for server in group.servers)
        assert primary.llen(QUEUE) >= 3 and replica.llen(QUEUE) == primary.llen(QUEUE)  # WAIT: the replica has them
    finally:
        publisher.close()


def test_a_batch_fewer_replicas_acknowledged_is_a_failed_publish(group):
    publisher = DramatiqRedisPublisher(target(group), min_replicas=2, replica_timeout=0.2)
    try:
        with pytest.raises(PublishError, match="1 of 2 replicas acknowledged"):
            publisher.publish(claimed(2))
        assert any(
            "1 connected replicas, fewer than OUTBOX_MIN_REPLICAS=2" in w for w in publisher.durability_warnings()
        )
    finally:
        publisher.close()


def test_the_relay_warns_at_start_when_redis_has_too_few_replicas(group, processes):
    done = processes.run(
        [sys.executable, str(MANAGE), "outbox_relay", "--once"], **group.env(), OUTBOX_MIN_REPLICAS="2"
    )
    assert done.returncode == 0, done.stderr
    assert "fewer than OUTBOX_MIN_REPLICAS=2" in done.stdout + done.stderr


def test_min_replicas_must_leave_room_inside_the_publish_timeout(settings):
    from outbox.config import OutboxConfig

    with pytest.raises(ImproperlyConfigured, match="REPLICA_TIMEOUT"):
        OutboxConfig.from_settings(min_replicas=1, replica_timeout=6.0, publish_timeout=5.0)
    with pytest.raises(ImproperlyConfigured, match="MIN_REPLICAS"):
        OutboxConfig.from_settings(min_replicas=-1)
