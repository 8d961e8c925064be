"""Consumer positions in PostgreSQL (forward only) and reading a partition's range back from the real broker."""

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.db.positions import PostgresPositions
from shared.kafka.config import producer_config
from shared.kafka.positions import KafkaLog, PartitionPositions

pytestmark = pytest.mark.integration


async def test_positions_are_stored_per_consumer_and_partition_and_only_move_forward(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        positions = PostgresPositions(pool)
        assert await positions.load("routing-service", ("t.x", 0)) is None
        await positions.save("routing-service", {("t.x", 0): 10, ("t.x", 1): 3})
        await positions.save("routing-service", {("t.x", 0): 7})  # an older batch finishing late
        await positions.save("stats-service", {("t.x", 0): 1})
        assert await positions.load("routing-service", ("t.x", 0)) == 10
        assert await positions.load("routing-service", ("t.x", 1)) == 3
        assert await positions.load("stats-service", ("t.x", 0)) == 1
        await positions.save("routing-service", {})
    finally:
        await pool.close()


async def test_the_log_reads_back_exactly_a_range_of_a_partition(kafka_bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "test-positions"))
    await producer.start()
    try:
        for n in range(6):
            await producer.send_and_wait(topic, f"v{n}".encode(), key=b"k", partition=1)
    finally:
        await producer.stop()
    log = KafkaLog(kafka_bootstrap, client_id="test-positions-log")
    try:
        assert await log.earliest((topic, 1)) == 0
        read = await log.read((topic, 1), 2, 5)
        assert [(m.offset, m.value) for m in read] == [(2, b"v2"), (3, b"v3"), (4, b"v4")]
        assert [m.offset for m in await log.read((topic, 1), 0, 2)] == [0, 1]
        # What a consumer with no stored position makes of Faust starting at offset 4: 0-3 read back first.
        positions = PartitionPositions("c", _NoPositions(), log)
        delivered = await log.read((topic, 1), 4, 6)
        assert [m.offset for m in await positions.complete((topic, 1), delivered)] == [0, 1, 2, 3, 4, 5]
    finally:
        await log.close()


class _NoPositions:
    async def load(self, consumer: str, partition: tuple[str, int]) -> int | None:
        return None

    async def save(self, consumer: str, positions: dict) -> None:
        raise AssertionError("complete() saves nothing")
