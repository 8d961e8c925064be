"""Small helpers for tests against the real broker: poll with a deadline, read a topic from the start."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.kafka.config import client_config, partitions_of


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 30.0, what: str = "condition") -> None:
    """Poll `check` until it is true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within} s")
        await asyncio.sleep(0.1)


async def read_all(bootstrap: str, topic: str, *, expected: int, within: float = 30.0) -> list[ConsumerRecord]:
    """Every record of `topic` from the beginning, waiting until at least `expected` have arrived."""
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def enough() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return len(records) >= expected

        await eventually(enough, within=within, what=f"{expected} records on {topic}")
    finally:
        await consumer.stop()
    return records
