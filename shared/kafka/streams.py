"""faust-streaming support: the app of a worker service, and agents that reuse the EventProcessor."""

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import faust

from shared.kafka.dead_letters import RawMessage
from shared.kafka.processing import EventProcessor
from shared.settings import Settings


def make_stream_app(settings: Settings) -> faust.App:
    """A Faust app whose id is the service's consumer group; its web server is off (FastAPI serves HTTP)."""
    os.makedirs(settings.state_dir, exist_ok=True)  # Faust creates only the last level of its datadir
    return faust.App(
        settings.kafka_group(),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        # Faust keeps table state and a lock per app id in its data directory; not in the working directory.
        datadir=os.path.join(settings.state_dir, "{conf.id}-data"),
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic read as raw bytes: our contracts, not Faust's codecs, decide what is valid."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


async def process_stream(stream: faust.StreamT, processor: EventProcessor[Any]) -> None:
    """Agent body: apply each event in order; bad ones are dead-lettered, never block the partition."""
    async for event in stream.events():
        message = event.message
        await processor.process(
            RawMessage(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=event.value,
                headers=tuple((k, v) for k, v in (message.headers or ())),
            )
        )


@contextlib.asynccontextmanager
async def running(app: faust.App) -> AsyncIterator[faust.App]:
    """Start the Faust worker in the current event loop (beside uvicorn) and stop it on exit."""
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
