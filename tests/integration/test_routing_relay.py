"""The outbox relay on the real broker: a dead leader's committed batch is not sent again, its open one is aborted."""

import asyncio
import contextlib

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.routing.adapters import outbox
from services.routing.adapters.relay import OUTBOX_ID, OutboxRelay
from shared.contracts.topics import REFERRAL_EVENTS
from shared.kafka.config import client_config
from tests.support.polling import eventually
from tests.support.routing_events import concern_event, read_committed

pytestmark = pytest.mark.integration


async def test_relay_publishes_each_outbox_event_exactly_once_after_a_leader_died(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + REFERRAL_EVENTS
    transactional_id = f"{topic_prefix}routing-outbox-relay"
    events = [concern_event() for _ in range(5)]  # any envelopes will do: the relay moves bytes
    async with fresh_database("routing") as url:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await outbox.enqueue(conn, topic, events)
            rows = await conn.fetch("SELECT id, key, payload FROM outbox ORDER BY id")

            # The previous leader: committed rows 1-3 to Kafka but died before marking them,
            # and had row 4 in a transaction it never finished.
            previous = AIOKafkaProducer(**client_config(kafka_bootstrap), transactional_id=transactional_id)
            await previous.start()
            async with previous.transaction():
                for row in rows[:3]:
                    await previous.send(
                        topic, row["payload"], key=row["key"].encode(), headers=[(OUTBOX_ID, str(row["id"]).encode())]
                    )
            await previous.begin_transaction()
            await previous.send_and_wait(
                topic,
                rows[3]["payload"],
                key=rows[3]["key"].encode(),
                headers=[(OUTBOX_ID, str(rows[3]["id"]).encode())],
            )

            relay = OutboxRelay(
                database_url=url, bootstrap_servers=kafka_bootstrap, transactional_id=transactional_id, batch_size=2
            )
            task = asyncio.create_task(relay.run())
            try:

                async def all_marked() -> bool:
                    return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

                await eventually(all_marked, within=60, what="every outbox row published")
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                with contextlib.suppress(Exception):
                    await previous.stop()  # fenced: its producer may refuse to close cleanly
            published = await read_committed(kafka_bootstrap, topic, expected=5)
            assert sorted(e.id for e in published) == sorted(e.id for e in events)
        finally:
            await conn.close()
