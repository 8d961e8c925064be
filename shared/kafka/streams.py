"""faust-streaming, through its public API only: the app of a worker service, and the body of its agents.

An agent is a few lines of `async for` over `stream.take_events(...)`, handing each take to `StreamConsumer.apply`:
the take's events, partition by partition (side by side), completed from the consumer's durable positions
(shared/kafka/positions.py), go through the shared pipeline (shared/kafka/pipeline.py); Faust acknowledges the take
only once `apply` returns, so nothing is committed before it is durable.
"""

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust

from shared.db.positions import Partition
from shared.kafka.config import faust_credentials
from shared.kafka.dead_letters import RawMessage
from shared.kafka.pipeline import Pipeline, raw_message
from shared.kafka.positions import Log, PartitionPositions
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)


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

    def __init__(
        self,
        pipeline: Pipeline[Any],
        positions: PartitionPositions,
        log: Log,
        *,
        per_transaction: int,
        quiet_s: float = 5.0,
    ):
        self.pipeline = pipeline
        self.positions = positions
        self.log = log
        self._per_transaction = per_transaction
        self._quiet_s = quiet_s
        self._busy: dict[Partition, asyncio.Lock] = {}
        self._delivered_at: dict[Partition, float] = {}

    def follow_rebalances(self, app: faust.App, topics: Sequence[str], *, every_s: float = 5.0) -> None:
        """Read positions again after every rebalance (another worker may have applied more of a partition), and
        every `every_s` catch up on the assigned partitions of `topics` that Faust left quiet behind their end."""

        async def forget(_sender: object, *_args: object, **_kwargs: object) -> None:
            self.positions.forget()
            self._delivered_at.clear()

        app.on_partitions_assigned.connect(forget)

        @app.timer(every_s, name=f"catch-up-{self.positions.consumer}-{topics[0]}")
        async def catch_up() -> None:
            wanted = set(topics)
            await self.catch_up_or_wait(
                [(tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in wanted]
            )

    async def catch_up_or_wait(self, partitions: Sequence[Partition]) -> None:
        """`catch_up`, but a broker or database away only postpones it to the next tick: an exception escaping a
        Faust timer crashes the whole app (its consumer thread stops and the agents never consume again)."""
        try:
            await self.catch_up(partitions)
        except Exception as error:  # noqa: BLE001 - the next tick tries again; a CancelledError still propagates
            log.warning("catch_up_postponed", consumer=self.positions.consumer, error=type(error).__name__)

    async def apply(self, events: Sequence[faust.EventT]) -> None:
        """Apply a take of events (any partitions, in the order delivered); returns once all are durable."""
        by_partition: dict[Partition, list[RawMessage]] = {}
        now = time.monotonic()
        for event in events:
            message = event.message
            by_partition.setdefault((message.topic, message.partition), []).append(raw_message(message))
        for partition in by_partition:
            self._delivered_at[partition] = now
        # A key, and so its order, lives in one partition: partitions apply side by side.
        await asyncio.gather(*(self._apply_partition(p, run) for p, run in by_partition.items()))

    async def catch_up(self, partitions: Sequence[Partition]) -> None:
        """Apply what a quiet partition holds past its position: events Faust acknowledged but never delivered, with
        nothing delivered after them to show the hole (a partition Faust is still feeding is left to it)."""
        now = time.monotonic()
        for partition in partitions:
            self._delivered_at.setdefault(partition, now)
        quiet = [p for p in partitions if now - self._delivered_at[p] >= self._quiet_s]
        if not quiet:
            return
        ends = await self.log.ends(quiet)
        for partition in quiet:
            async with self._lock(partition):
                if await self.positions.position(partition) >= ends[partition]:
                    continue
                run, reach = await self.positions.behind(partition, ends[partition], self._per_transaction * 5)
                await self._apply_run(partition, run)
                if not run:
                    await self.positions.advance_to(partition, reach)  # offsets that hold no record

    async def _apply_partition(self, partition: Partition, delivered: list[RawMessage]) -> None:
        async with self._lock(partition):
            await self._apply_run(partition, await self.positions.complete(partition, delivered))

    async def _apply_run(self, partition: Partition, run: list[RawMessage]) -> None:
        for start in range(0, len(run), self._per_transaction):
            batch = run[start : start + self._per_transaction]
            await self.pipeline.process(batch)
            await self.positions.advance(partition, batch)

    def _lock(self, partition: Partition) -> asyncio.Lock:
        return self._busy.setdefault(partition, asyncio.Lock())

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
