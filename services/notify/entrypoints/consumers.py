"""The notify service's Kafka consumer: a partition's batch applied in one transaction, then committed.

Notify fans each event out to many deliveries; applying a polled batch at once (one inbox insert, one
delivery insert, one feed insert) keeps up with routing where an event-at-a-time loop did not. Bad
messages are dead-lettered one by one, as in shared.kafka.processing, and the batch carries on.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from tenacity import AsyncRetrying, wait_exponential_jitter

from services.notify.handlers import EVENT_HANDLERS
from shared.contracts.envelope import ContractError, Envelope, decode
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.kafka.config import consumer_config
from shared.kafka.consumer import raw_message
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.processing import dead_letter
from shared.logging import get_logger
from shared.metrics import EVENT_DURATION, EVENT_RETRIES, EVENTS_HANDLED

log = get_logger(__name__)

TOPICS = (REFERRAL_EVENTS, CONCERN_EVENTS)
"""Logical topic names; the consumer subscribes to their physical names (settings.topic)."""

ApplyBatch = Callable[[list[Envelope[Any]]], Awaitable[int]]


class BatchConsumer:
    """Decodes a partition's records, dead-letters what cannot apply, applies the rest, then commits."""

    def __init__(self, consumer: AIOKafkaConsumer, apply: ApplyBatch, dead_letters: DeadLetters, name: str):
        self._consumer = consumer
        self._apply = apply
        self._dead_letters = dead_letters
        self.name = name

    async def run(self) -> None:
        """Consume until cancelled."""
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as error:
                log.warning("consumer_poll_failed", consumer=self.name, error=type(error).__name__)
                await asyncio.sleep(1.0)
                continue
            for partition, records in batches.items():
                # Dead letters of a batch go out together (one producer batch, one round trip) rather than one
                # acknowledged send after another: a flood of bad messages then drains in seconds, not minutes,
                # and the good ones behind it are not held up. All are acknowledged before the commit below.
                decoded = await asyncio.gather(*(self._decode(raw_message(record)) for record in records))
                events = [event for event in decoded if event is not None]
                if events:
                    await self._apply_until_done(partition, events)
                await self._commit(partition, records[-1].offset + 1)

    async def _decode(self, message: RawMessage) -> Envelope[Any] | None:
        try:
            event = decode(message.value or b"")
        except ContractError as error:
            await self._dead_letter(message, "unknown", error.reason, str(error))
            return None
        if event.type not in EVENT_HANDLERS:
            await self._dead_letter(message, event.type, "unhandled_type", f"no handler for {event.type}")
            return None
        return event

    async def _apply_until_done(self, partition: TopicPartition, events: list[Envelope[Any]]) -> None:
        """Transient failures (database away, registry still loading) are retried for as long as it takes."""
        started = time.perf_counter()
        async for attempt in AsyncRetrying(wait=wait_exponential_jitter(multiplier=0.2, max=30), reraise=True):
            with attempt:
                try:
                    await self._apply(events)
                except Exception as error:
                    EVENT_RETRIES.labels(self.name, partition.topic, "batch").inc()
                    log.warning(
                        "event_batch_retry",
                        consumer=self.name,
                        topic=partition.topic,
                        partition=partition.partition,
                        events=len(events),
                        error=type(error).__name__,
                    )
                    raise
        each = (time.perf_counter() - started) / len(events)
        for event in events:
            EVENTS_HANDLED.labels(self.name, partition.topic, event.type, "applied").inc()
            EVENT_DURATION.labels(self.name, partition.topic, event.type).observe(each)

    async def _dead_letter(self, message: RawMessage, event_type: str, reason: str, error: str) -> None:
        await dead_letter(
            self._dead_letters, message, consumer=self.name, event_type=event_type, reason=reason, error=error
        )

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({partition: offset})
        except (CommitFailedError, KafkaError) as error:
            # A rebalance or an absent broker: the records come again, and applying them is idempotent.
            log.warning("consumer_commit_failed", consumer=self.name, topic=partition.topic, error=type(error).__name__)


@contextlib.asynccontextmanager
async def consuming_batches(
    bootstrap_servers: str,
    group_id: str,
    topics: Sequence[str],
    apply: ApplyBatch,
    dead_letters: DeadLetters,
    name: str | None = None,
) -> AsyncIterator[AIOKafkaConsumer]:
    """Run a BatchConsumer in the background for the duration of the block (the service's lifespan)."""
    consumer = AIOKafkaConsumer(*topics, **consumer_config(bootstrap_servers, group_id, client_id=group_id))
    await consumer.start()
    task = asyncio.create_task(
        BatchConsumer(consumer, apply, dead_letters, name or group_id).run(), name=f"consumer-{group_id}"
    )
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
