"""The aiokafka consumer loop: in order per partition, commit only after the effect is durable."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from shared.kafka.config import consumer_config
from shared.kafka.dead_letters import RawMessage
from shared.kafka.processing import EventProcessor
from shared.logging import get_logger

log = get_logger(__name__)


def raw_message(record: ConsumerRecord) -> RawMessage:
    """The parts of a consumer record the processor and dead letters need."""
    return RawMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple(record.headers or ()),
    )


class ConsumerLoop:
    """Feeds records to an EventProcessor and commits each partition's offset after its batch is applied."""

    def __init__(self, consumer: AIOKafkaConsumer, processor: EventProcessor[Any], poll_timeout_ms: int = 500):
        self._consumer = consumer
        self._processor = processor
        self._poll_timeout_ms = poll_timeout_ms

    async def run(self) -> None:
        """Consume until cancelled."""
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            except KafkaError as error:
                log.warning("consumer_poll_failed", consumer=self._processor.consumer, error=type(error).__name__)
                await asyncio.sleep(1.0)
                continue
            for partition, records in batches.items():
                in_flight: list[asyncio.Task[None]] = []
                for record in records:
                    await self._processor.process(raw_message(record), in_flight=in_flight)
                # Dead letters went out without waiting one by one; all are durable before the commit.
                await asyncio.gather(*in_flight)
                await self._commit(partition, records[-1].offset + 1)

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({partition: offset})
        except (CommitFailedError, KafkaError) as error:
            # The group moved on (rebalance) or the broker is away: the records will be delivered
            # again, and the handlers are idempotent, so redelivery is harmless.
            log.warning(
                "consumer_commit_failed",
                consumer=self._processor.consumer,
                topic=partition.topic,
                partition=partition.partition,
                error=type(error).__name__,
            )


@contextlib.asynccontextmanager
async def consuming(
    bootstrap_servers: str, group_id: str, topics: Sequence[str], processor: EventProcessor[Any]
) -> AsyncIterator[AIOKafkaConsumer]:
    """Run a ConsumerLoop in the background for the duration of the block (a service's lifespan)."""
    consumer = AIOKafkaConsumer(*topics, **consumer_config(bootstrap_servers, group_id, client_id=group_id))
    await consumer.start()
    task = asyncio.create_task(ConsumerLoop(consumer, processor).run(), name=f"consumer-{group_id}")
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
