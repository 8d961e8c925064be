"""Publishing through the shared EventPublisher (envelope + encode + headers) against raw aiokafka sends."""

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer

from bench.harness import BenchContext, BenchResult
from shared.contracts.envelope import encode, make_event
from shared.contracts.examples import example_events
from shared.kafka.admin import ensure_topics
from shared.kafka.config import producer_config
from shared.kafka.producer import KafkaEventPublisher

EVENTS = 5_000
IN_FLIGHT = 64


async def _timed(send, count: int) -> float:  # noqa: ANN001
    """Events/s with IN_FLIGHT sends outstanding at a time."""
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with semaphore:
            await send(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


async def run(context: BenchContext) -> list[BenchResult]:
    """Measure both paths on a fresh topic of the bench broker."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await ensure_topics(context.kafka_bootstrap, partitions=6, prefix=prefix)
    topic = prefix + "concern-events"
    template = example_events()[0]
    producer = AIOKafkaProducer(**producer_config(context.kafka_bootstrap, "bench"))
    await producer.start()
    try:
        publisher = KafkaEventPublisher(producer)
        raw = encode(template)

        async def shared_path(i: int) -> None:
            await publisher.publish(topic, make_event(template.data, source=template.source, subject=f"sk_{i % 500}"))

        async def raw_path(i: int) -> None:
            await producer.send_and_wait(topic, raw, key=f"sk_{i % 500}".encode())

        await _timed(raw_path, 500)  # warm up connections and metadata
        # Baseline before and after the measured run, so warm-up and drift do not favour either side.
        before = await _timed(raw_path, EVENTS)
        measured = await _timed(shared_path, EVENTS)
        baseline = (before + await _timed(raw_path, EVENTS)) / 2
    finally:
        await producer.stop()
    return [
        BenchResult(
            benchmark="shared publisher",
            metric="events published/s",
            unit="events/s",
            value=measured,
            baseline="raw aiokafka send_and_wait, pre-encoded bytes",
            baseline_value=baseline,
            target_ratio=0.7,
            details={"events": EVENTS, "in_flight": IN_FLIGHT},
        )
    ]
