"""The notifier's consumer sends the acks of many worker threads in one Redis call (real Redis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.errors import ConnectionClosed

from notifications.broker import NotifierRedisBroker
from tests.support import poll, wait_for

QUEUE = "acks-test"


class RecordingBroker(NotifierRedisBroker):
    """Records each ack call's size; ``hold_first`` keeps the first call back until it says go,
    ``fail_next`` makes the next call raise what a lost connection raises."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sizes: list[int] = []
        self.hold_first: Any = None
        self.fail_next = False

    def ack_many(self, queue_name: str, redis_message_ids: list[str]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise redis.ConnectionError("connection lost")
        if not self.sizes and self.hold_first:
            poll(self.hold_first, timeout=10, interval=0.002)  # in an acking thread
        self.sizes.append(len(redis_message_ids))
        super().ack_many(queue_name, redis_message_ids)


@pytest.fixture
def broker(notifier_redis: str) -> Iterator[RecordingBroker]:
    broker = RecordingBroker(url=notifier_redis, idle_poll_ms=10)
    broker.declare_queue(QUEUE)
    yield broker
    broker.close()


def fetched(broker: RecordingBroker, count: int) -> tuple[Any, list[Any]]:
    """A consumer of QUEUE and ``count`` messages it fetched (now in this worker's ack set)."""
    for i in range(count):
        broker.enqueue(dramatiq.Message(queue_name=QUEUE, actor_name="a", args=(i,), kwargs={}, options={}))
    consumer = broker.consume(QUEUE, prefetch=count)
    messages: list[Any] = []

    def all_fetched() -> bool:
        message = next(consumer)
        if message is not None:
            messages.append(message)
        return len(messages) == count

    wait_for(all_fetched, timeout=10, interval=0, what=f"{count} messages fetched")
    return consumer, messages


def held(broker: RecordingBroker) -> tuple[int, int]:
    """Messages in this worker's ack set, and message bodies still stored, for QUEUE."""
    return (
        broker.client.scard(f"dramatiq:__acks__.{broker.broker_id}.{QUEUE}"),
        broker.client.hlen(f"dramatiq:{QUEUE}.msgs"),
    )


def test_a_lone_ack_is_sent_at_once(broker):
    consumer, [message] = fetched(broker, 1)
    assert held(broker) == (1, 1)
    consumer.ack(message)
    assert held(broker) == (0, 0)
    assert broker.sizes == [1]
    assert consumer.outstanding_message_count == 0


def test_acks_of_threads_that_finish_together_go_in_one_call(broker):
    consumer, messages = fetched(broker, 16)
    broker.hold_first = lambda: consumer.unsent() >= 15  # the first call waits until the rest are listed
    threads = [threading.Thread(target=consumer.ack, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert broker.sizes == [1, 15]
    assert held(broker) == (0, 0)
    assert consumer.unsent() == 0


def test_a_message_given_back_meanwhile_keeps_its_body(broker):
    consumer, [message] = fetched(broker, 1)
    redis_id = message.options["redis_message_id"]
    # Maintenance took this worker for dead and put the message back on its queue.
    broker.client.srem(f"dramatiq:__acks__.{broker.broker_id}.{QUEUE}", redis_id)
    broker.client.rpush(f"dramatiq:{QUEUE}", redis_id)
    consumer.ack(message)
    assert broker.client.hexists(f"dramatiq:{QUEUE}.msgs", redis_id)  # for whoever takes it next


def test_acks_that_failed_to_send_go_with_the_next_one(broker):
    consumer, (first, second) = fetched(broker, 2)
    broker.fail_next = True
    with pytest.raises(ConnectionClosed):
        consumer.ack(first)
    assert consumer.unsent() == 1 and held(broker) == (2, 2)
    consumer.ack(second)
    assert broker.sizes == [2]
    assert held(broker) == (0, 0)


def test_close_sends_what_is_left(broker):
    consumer, [message] = fetched(broker, 1)
    broker.fail_next = True
    with pytest.raises(ConnectionClosed):
        consumer.ack(message)
    consumer.close()
    assert held(broker) == (0, 0)


def test_close_with_redis_unreachable_does_not_fail(broker, caplog):
    consumer, [message] = fetched(broker, 1)
    broker.fail_next = True
    with pytest.raises(ConnectionClosed):
        consumer.ack(message)
    broker.fail_next = True
    consumer.close()  # the unsent ack stays in the ack set: a redelivery later, which the inbox ignores
    assert "not sent on close" in caplog.text
    assert held(broker) == (1, 1)
