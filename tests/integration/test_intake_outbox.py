"""The outbox relay against real PostgreSQL and Kafka: order per key with several relays, NOTIFY, polling."""

import asyncio
import contextlib
import uuid
from collections import defaultdict

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.intake.adapters.outbox import add_to_outbox
from services.intake.adapters.outbox_relay import OutboxRelay
from shared.contracts.concerns import ConcernErased
from shared.contracts.envelope import decode, make_event
from shared.contracts.topics import CONCERN_EVENTS
from shared.kafka.config import producer_config
from shared.kafka.producer import KafkaEventPublisher
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def outbox(fresh_database, kafka_bootstrap: str, topic_prefix: str):  # noqa: ANN001, ANN201
    async with fresh_database("intake") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=6)
        producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "test-relay"))
        await producer.start()
        try:
            yield url, pool, KafkaEventPublisher(producer)
        finally:
            await producer.stop()
            await pool.close()


def erased_event(key: str, seq: int):  # noqa: ANN201
    data = ConcernErased(concern_id=f"c-{key}-{seq:03d}", subject_key=key, erased_at="2025-03-04T08:30:00Z")
    return make_event(data, source="/services/intake", subject=key, id=str(uuid.uuid4()))


async def insert(pool: asyncpg.Pool, events: list) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await add_to_outbox(conn, event, CONCERN_EVENTS)


@contextlib.asynccontextmanager
async def relaying(*relays: OutboxRelay):  # noqa: ANN201
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def relay(url: str, pool: asyncpg.Pool, publisher: KafkaEventPublisher, prefix: str, **kw) -> OutboxRelay:  # noqa: ANN003
    return OutboxRelay(pool, publisher, dsn=url, physical_topic=lambda t: prefix + t, **kw)


async def unpublished(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")


async def test_two_relays_publish_every_row_once_in_order_per_key(outbox, topic_prefix, kafka_bootstrap) -> None:  # noqa: ANN001
    url, pool, publisher = outbox
    keys = [f"sk_order{k:03d}{uuid.uuid4().hex[:6]}" for k in range(20)]
    # Interleaved across keys, in several transactions, as concurrent requests would write them.
    for seq in range(10):
        await insert(pool, [erased_event(key, seq) for key in keys])
    first, second = (relay(url, pool, publisher, topic_prefix, batch_size=7, poll_interval_s=0.2) for _ in range(2))
    async with relaying(first, second):

        async def drained() -> bool:
            return await unpublished(pool) == 0

        await eventually(drained, within=60, what="the outbox drained by two relays")
    records = await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=200)
    assert len(records) == 200, "each row published exactly once"
    sequence: dict[str, list[str]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = decode(record.value)
        sequence[event.subject].append(event.data.concern_id)
        partitions[event.subject].add(record.partition)
    assert set(sequence) == set(keys)
    for key in keys:
        assert sequence[key] == [f"c-{key}-{seq:03d}" for seq in range(10)], key
        assert len(partitions[key]) == 1


async def test_notify_wakes_an_idle_relay(outbox, topic_prefix, kafka_bootstrap) -> None:  # noqa: ANN001
    url, pool, publisher = outbox
    # Polling every 10 minutes: only the NOTIFY of the insert can get the row out within the test's deadline.
    async with relaying(relay(url, pool, publisher, topic_prefix, poll_interval_s=600)):
        await asyncio.sleep(1.0)  # the relay has drained the empty outbox and waits
        await insert(pool, [erased_event("sk_notified0001", 0)])
        await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=1, within=30)

        async def marked() -> bool:
            return await unpublished(pool) == 0

        await eventually(marked, what="the row marked published")


async def test_polling_finds_rows_when_no_notification_comes(outbox, topic_prefix, kafka_bootstrap) -> None:  # noqa: ANN001
    url, pool, publisher = outbox
    await pool.execute("DROP TRIGGER outbox_notify ON outbox")
    async with relaying(relay(url, pool, publisher, topic_prefix, poll_interval_s=0.3)):
        await asyncio.sleep(0.5)
        await insert(pool, [erased_event("sk_polled00001", 0)])
        await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=1, within=30)


async def test_rows_stay_unpublished_while_the_broker_refuses_them(outbox, topic_prefix) -> None:  # noqa: ANN001
    url, pool, publisher = outbox
    await insert(pool, [erased_event("sk_nowhere0001", 0)])

    class Refusing:
        async def publish(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            raise ConnectionError("broker away")

    failing = OutboxRelay(pool, Refusing(), dsn=url, physical_topic=lambda t: topic_prefix + t)  # type: ignore[arg-type]
    with pytest.raises(ExceptionGroup):
        await failing.relay_batch()
    assert await unpublished(pool) == 1
    working = relay(url, pool, publisher, topic_prefix)
    assert await working.relay_batch() == 1
    assert await unpublished(pool) == 0
