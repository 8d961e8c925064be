"""faust-streaming, through its public API only: the app of a worker service, and the body of its agents.

An agent is a few lines of `async for` over `stream.take_events(...)`, handing each take to `StreamConsumer.apply`:
the take's events, partition by partition (side by side), completed from the consumer's durable positions
(shared/kafka/positions.py), go through the shared pipeline (shared/kafka/pipeline.py); Faust acknowledges the take
only once `apply` returns, so nothing is committed before it is durable.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust

from shared.db.positions import Partition
from shared.kafka.config import faust_credentials
from shared.kafka.dead_letters import RawMessage
from shared.kafka.pipeline import Pipeline, raw_message
from shared.kafka.positions import Log, PartitionPositions
from shared.settings import Settings


def make_stream_app(settings: Settings) -> faust.App:
    """A Faust app whose id is the service's consumer group; its web server is off (FastAPI serves HTTP)."""
    os.makedirs(settings.state_dir, exist_ok=True)  # Faust creates only the last level of its datadir
    return faust.App(
        settings.kafka_group(),
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        broker_credentials=faust_credentials(),
        store="memory://",
        # Faust keeps table state and a lock per app id in its data directory; not in the working directory.
        datadir=os.path.join(settings.state_dir, "{conf.id}-data"),
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Faust stops fetching a partition whose agent buffer is at 80% and, when all are stopped, checks again
        # only after a second (not when the buffer drains): with its default 4,096 a flood ran in bursts of
        # ~1,600 events and one-second stalls. A buffer of several seconds' work keeps the agents fed.
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic read as raw bytes: our contracts, not Faust's codecs, decide what is valid."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


class StreamConsumer:
    """The work of a service's agents: each take of events applied through the pipeline from the durable positions.

    `per_transaction` caps the events of a partition given to the pipeline at once (a batch handler applies them
    in one transaction). After each, the partition's position is saved: a crash repeats at most that batch.
    """

    def __init__(self, pipeline: Pipeline[Any], positions: PartitionPositions, log: Log, *, per_transaction: int):
        self.pipeline = pipeline
        self.positions = positions
        self.log = log
        self._per_transaction = per_transaction

    def follow_rebalances(self, app: faust.App) -> None:
        """Read positions again after every rebalance: another worker may have applied more of a partition."""

        async def forget(_sender: object, *_args: object, **_kwargs: object) -> None:
            self.positions.forget()

        app.on_partitions_assigned.connect(forget)

    async def apply(self, events: Sequence[faust.EventT]) -> None:
        """Apply a take of events (any partitions, in the order delivered); returns once all are durable."""
        by_partition: dict[Partition, list[RawMessage]] = {}
        for event in events:
            message = event.message
            by_partition.setdefault((message.topic, message.partition), []).append(raw_message(message))
        # A key, and so its order, lives in one partition: partitions apply side by side.
        await asyncio.gather(*(self._apply_partition(p, run) for p, run in by_partition.items()))

    async def _apply_partition(self, partition: Partition, delivered: list[RawMessage]) -> None:
        run = await self.positions.complete(partition, delivered)
        for start in range(0, len(run), self._per_transaction):
            batch = run[start : start + self._per_transaction]
            await self.pipeline.process(batch)
            await self.positions.advance(partition, batch)

    async def close(self) -> None:
        """Release the log reader."""
        close = getattr(self.log, "close", None)
        if close is not None:
            await close()


@contextlib.asynccontextmanager
async def running(app: faust.App) -> AsyncIterator[faust.App]:
    """Start the Faust worker in the current event loop (beside uvicorn) and stop it on exit."""
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
