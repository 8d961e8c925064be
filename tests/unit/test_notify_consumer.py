"""notify's batch consumer against a fake broker: bad messages dead-lettered, the rest applied, then committed."""

import asyncio
import contextlib

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from services.notify.entrypoints.consumers import BatchConsumer
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.kafka.dead_letters import InMemoryDeadLetters
from tests.support.notify_helpers import referral_created

pytestmark = pytest.mark.unit

PARTITION = TopicPartition("t.referral-events", 0)


def record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(PARTITION.topic, 0, offset, 0, 0, b"k", value, None, len(b"k"), len(value), [])


class FakeConsumer:
    """Hands out one batch, then nothing; remembers commits."""

    def __init__(self, records: list[ConsumerRecord]):
        self._batches = [{PARTITION: records}]
        self.commits: list[dict] = []

    async def getmany(self, timeout_ms: int) -> dict:
        if self._batches:
            return self._batches.pop()
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict) -> None:
        self.commits.append(offsets)


async def run_briefly(consumer: BatchConsumer, fake: FakeConsumer) -> None:
    task = asyncio.create_task(consumer.run())
    for _ in range(1000):  # up to 10 s: a retry backs off with jitter, and CI machines are busy
        if fake.commits:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_garbage_and_foreign_types_are_dead_lettered_and_the_rest_applied_in_order() -> None:
    first, second = referral_created("holbaek-1"), referral_created("hoeng-1")
    delivered_event = next(e for e in example_events() if e.type == "notification.delivered.v1")
    fake = FakeConsumer(
        [
            record(0, encode(first)),
            record(1, b"{not json"),
            record(2, encode(delivered_event)),
            record(3, encode(second)),
        ]
    )
    applied: list[list[str]] = []
    failures = [ConnectionResetError()]  # the first try meets a database that is away

    async def apply(events) -> int:  # noqa: ANN001
        if failures:
            raise failures.pop()
        applied.append([e.id for e in events])
        return len(events)

    letters = InMemoryDeadLetters()
    await run_briefly(BatchConsumer(fake, apply, letters, "notify-service"), fake)
    assert applied == [[first.id, second.id]]  # retried until it applied, bad ones left out
    assert [(m.offset, reason) for m, reason, _ in letters.letters] == [(1, "invalid_json"), (2, "unhandled_type")]
    assert fake.commits == [{PARTITION: 4}]
