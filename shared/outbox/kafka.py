"""Sending outbox rows to Kafka: each partition's rows in outbox order, partitions at the same time."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from shared import tracing
from shared.kafka.config import producer_config
from shared.outbox.postgres import OutboxRow

RECORD_BATCH_BYTES = 512 * 1024
"""Largest record batch the sender builds (the broker takes up to 1 MiB by default)."""
_PARTITIONER = DefaultPartitioner()


class Sender(Protocol):
    """Publishes rows; returns once the broker acknowledged every one, raises if any was refused."""

    async def send(self, rows: list[OutboxRow]) -> None: ...


class KafkaSender:
    """Sender over an idempotent (acks=all) producer.

    Rows are appended to record batches, one per partition (more when one fills), chosen as `producer.send`
    would (the default partitioner over the key): one append per row instead of a send with its own future
    each. A partition's batches go one after another, each once the previous is acknowledged, so a refused
    batch is never overtaken by a later one of the same partition: what reached the topic is a prefix of
    each key's rows.
    """

    def __init__(self, producer: AIOKafkaProducer, topics: Mapping[str, str]):
        self._producer = producer
        self._topics = topics

    def topic(self, stored: str) -> str:
        """The physical topic of a row: its contract name mapped by the channel; other names are physical already."""
        return self._topics.get(stored, stored)

    async def send(self, rows: list[OutboxRow]) -> None:
        """Send and wait for every acknowledgement."""
        batches: dict[tuple[str, int], list[Any]] = {}
        partitions: dict[str, list[int]] = {}
        partition_of: dict[tuple[str, str], int] = {}
        spans = tracing.publishing(rows, self.topic)  # {} while tracing is off
        for row in rows:
            topic = self.topic(row.topic)
            if (partition := partition_of.get((topic, row.key))) is None:
                if topic not in partitions:
                    partitions[topic] = sorted(await self._producer.partitions_for(topic))
                every = partitions[topic]
                partition = partition_of[(topic, row.key)] = _PARTITIONER(row.key.encode(), every, every)
            record = {
                "key": row.key.encode(),
                "value": row.payload,
                "timestamp": None,
                "headers": [("ce_type", row.event_type.encode()), ("ce_id", row.event_id.encode())],
            }
            if spans:  # CloudEvents distributed tracing: the publish span's traceparent
                record["headers"].append((tracing.TRACEPARENT, spans[row.id][1].encode()))
            chain = batches.setdefault((topic, partition), [])
            if not chain or chain[-1].append(**record) is None:  # none yet, or full: start the next
                chain.append(self._producer.create_batch())
                chain[-1].append(**record)  # the first record always fits
        try:
            await asyncio.gather(*(self._send_chain(t, p, chain) for (t, p), chain in batches.items()))
        finally:
            tracing.end(spans)

    async def _send_chain(self, topic: str, partition: int, chain: list[Any]) -> None:
        for batch in chain:
            await (await self._producer.send_batch(batch, topic, partition=partition))


@contextlib.asynccontextmanager
async def kafka_sender(bootstrap_servers: str, client_id: str, topics: Mapping[str, str]) -> AsyncIterator[KafkaSender]:
    """A sender with its own producer (large record batches), for one leadership; stopped when it ends."""
    config = {**producer_config(bootstrap_servers, client_id), "max_batch_size": RECORD_BATCH_BYTES}
    producer = AIOKafkaProducer(**config)
    await producer.start()
    try:
        yield KafkaSender(producer, topics)
    finally:
        await producer.stop()
