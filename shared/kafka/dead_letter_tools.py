"""Reading and replaying dead letters, for ops (`crp dlq ...`)."""

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts.topics import DLQ_SUFFIX
from shared.kafka.config import partitions_of, producer_config
from shared.kafka.dead_letters import DLQ_HEADER_PREFIX


@dataclass(frozen=True)
class DeadLetter:
    """One record of a .dlq topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        """Why it was refused (e.g. invalid_json, invalid_data, rejected)."""
        return self.headers.get("dlq-reason", "?")

    @property
    def origin_topic(self) -> str:
        """The topic it was consumed from."""
        return self.headers.get("dlq-origin-topic", "")


def _dlq_topic(topic: str) -> str:
    return topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX


async def read_dead_letters(bootstrap_servers: str, topic: str, *, limit: int = 1000) -> list[DeadLetter]:
    """The dead letters of `topic` (or of a .dlq topic named directly), oldest first per partition."""
    dlq_topic = _dlq_topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, client_id="crp-dlq")
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        partitions = await partitions_of(consumer, dlq_topic)
        if not partitions:
            raise ValueError(f"no such topic: {dlq_topic}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {p for p in partitions if end[p] > 0}
        while remaining and len(letters) < limit:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batches.values():
                letters.extend(
                    DeadLetter(
                        r.partition,
                        r.offset,
                        r.key,
                        r.value,
                        {k: v.decode(errors="replace") for k, v in r.headers},
                    )
                    for r in records
                )
            remaining = {p for p in remaining if await consumer.position(p) < end[p]}
    finally:
        await consumer.stop()
    return letters[:limit]


async def replay(bootstrap_servers: str, letters: list[DeadLetter]) -> int:
    """Send each dead letter back to its origin topic, same key and bytes, marked as replayed."""
    producer = AIOKafkaProducer(**producer_config(bootstrap_servers, "crp-dlq-replay"))
    await producer.start()
    try:
        sends = []
        for letter in letters:
            headers = [(k, v.encode()) for k, v in letter.headers.items() if not k.startswith(DLQ_HEADER_PREFIX)]
            headers.append(("dlq-replayed-from", f"{letter.partition}:{letter.offset}".encode()))
            sends.append(await producer.send(letter.origin_topic, letter.value, key=letter.key, headers=headers))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return len(letters)
