"""The relay's spans: one per event published, continuing the outbox write's trace, named in the message."""

from __future__ import annotations

import dramatiq
import pytest
import redis
from opentelemetry.trace import SpanKind, StatusCode

from codegen_config import RedisTarget
from codegen_contracts import EVENTS_QUEUE, envelope_from_builtins
from codegen_telemetry import span, traceparent_of
from outbox.config import OutboxConfig
from outbox.models import OutboxEvent
from outbox.publisher import DramatiqRedisPublisher
from outbox.relay import Relay
from projects import services
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def queued_envelopes(redis_url: str) -> dict[str, object]:
    """The envelopes on the events queue, by event id."""
    client = redis.Redis.from_url(redis_url)
    try:
        messages = client.hgetall(f"dramatiq:{EVENTS_QUEUE}.msgs").values()
        return {m.message_id: envelope_from_builtins(m.args[0]) for m in map(dramatiq.Message.decode, messages)}
    finally:
        client.close()


def test_each_published_event_is_a_producer_span_following_its_write_and_named_in_its_message(redis_url, memory_spans):
    # given two events written inside a request's span (tracing on)
    project = ProjectFactory()
    with span("PATCH request") as request:
        services.generated_project_create(project=project)
        services.generated_project_create(project=project)
    writes = {s.attributes["event.id"]: s for s in memory_spans.get_finished_spans() if s.name == "outbox write"}
    assert len(writes) == 2 and all(w.parent.span_id == request.get_span_context().span_id for w in writes.values())
    stored = dict(OutboxEvent.objects.values_list("event_id", "headers"))
    assert {str(k): v["traceparent"] for k, v in stored.items()} == {
        event_id: traceparent_of(w) for event_id, w in writes.items()
    }
    memory_spans.clear()

    # when a relay publishes them
    config = OutboxConfig.from_settings(redis=RedisTarget(url=redis_url))
    assert Relay(config, DramatiqRedisPublisher(config.redis)).step().published == 2

    # then each is a producer span, child of its write, and its message carries that span on
    publishes = {s.attributes["messaging.message.id"]: s for s in memory_spans.get_finished_spans()}
    assert publishes.keys() == writes.keys()
    queued = queued_envelopes(redis_url)
    for event_id, published in publishes.items():
        assert published.kind == SpanKind.PRODUCER and published.status.status_code == StatusCode.UNSET
        assert published.parent.span_id == writes[event_id].context.span_id
        assert queued[event_id].traceparent == traceparent_of(published)


def test_an_event_redis_refuses_ends_its_span_failed(redis_url, memory_spans):
    services.generated_project_create(project=ProjectFactory())
    memory_spans.clear()
    config = OutboxConfig.from_settings(redis=RedisTarget(url="redis://127.0.0.1:1/0"), publish_retry_attempts=1)
    outcome = Relay(config, DramatiqRedisPublisher(config.redis, timeout=0.5)).step()
    assert outcome.retried == 1
    (published,) = memory_spans.get_finished_spans()
    assert published.status.status_code == StatusCode.ERROR
    assert "PublishError" in published.status.description or "Connection" in published.status.description
