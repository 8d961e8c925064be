"""Every event of a partition applied in order from the durable position, whatever the stream framework delivers.

faust-streaming 0.15.3 loses events across rebalances in two ways its public API cannot switch off:
`Stream.__aiter__` acknowledges the events it skips while the flow is suspended (also on `noack` streams), so the
committed offset can move past events no agent applied; and the consumer's drain of fetched records marks a
delivery it abandoned as read, so the records below it fetched again after the seek are dropped ("DROPPED MESSAGE
ROFF"). Both end as a hole in what the agent sees.

So the offsets Faust commits are only where its fetch starts. The truth is the consumer's position in its own
database (shared/db/positions.py), moved forward only after a batch is durable. Per partition,
`PartitionPositions.complete` takes what Faust delivered and returns what to apply: events below the position
are left out (applied before), and a hole between the position and the next delivered event is read back from
the log with a plain aiokafka consumer (`KafkaLog`) and put in front. A hole that is no event (a transaction
marker, a compacted or expired record) is found empty and passed over. A hole at the end of a partition (nothing
delivered after it) is found by `StreamConsumer.catch_up` (shared/kafka/streams.py), which compares the position
with the partition's end once the partition has been quiet for a few seconds.
"""

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.db.positions import Partition, Positions
from shared.kafka.config import client_config
from shared.kafka.dead_letters import RawMessage
from shared.kafka.pipeline import raw_message
from shared.logging import get_logger
from shared.metrics import EVENTS_READ_BACK

log = get_logger(__name__)


class Log(Protocol):
    """Port: reading a partition's records directly (a plain aiokafka consumer; a list in unit tests)."""

    async def earliest(self, partition: Partition) -> int: ...
    async def ends(self, partitions: Sequence[Partition]) -> dict[Partition, int]: ...
    async def read(self, partition: Partition, start: int, end: int) -> list[RawMessage]: ...


class KafkaLog:
    """Reads ranges of a partition with its own consumer (no group: it commits nothing), started on first use."""

    def __init__(self, bootstrap_servers: str, client_id: str, *, wait_s: float = 30.0):
        self._config = client_config(
            bootstrap_servers,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a range that expired starts at what is left
            isolation_level="read_uncommitted",  # as Faust's own consumer reads (no Faust transactions)
            max_partition_fetch_bytes=256 * 1024,
        )
        self._wait_s = wait_s
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._config)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def earliest(self, partition: Partition) -> int:
        """The partition's first offset still in the log."""
        async with self._lock:
            tp = TopicPartition(*partition)
            return (await (await self._started()).beginning_offsets([tp]))[tp]

    async def ends(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        """Each partition's end offset (the offset its next record will have)."""
        async with self._lock:
            ends = await (await self._started()).end_offsets([TopicPartition(*p) for p in partitions])
            return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def read(self, partition: Partition, start: int, end: int) -> list[RawMessage]:
        """The records of offsets [start, end), in order (fewer where offsets hold no record)."""
        async with self._lock:
            consumer, tp = await self._started(), TopicPartition(*partition)
            consumer.assign([tp])
            consumer.seek(tp, start)
            found: list[RawMessage] = []
            deadline = asyncio.get_running_loop().time() + self._wait_s
            while await consumer.position(tp) < end:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"offsets {start}-{end} of {tp.topic}[{tp.partition}] not read in time")
                records = (await consumer.getmany(tp, timeout_ms=500)).get(tp, [])
                found += [raw_message(r) for r in records if start <= r.offset < end]
            return found

    async def close(self) -> None:
        """Stop the consumer (if it was started)."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class PartitionPositions:
    """One consumer's positions in its partitions: what of a delivered run is new, and the holes read back."""

    def __init__(self, consumer: str, positions: Positions, log: Log):
        self.consumer = consumer
        self._positions = positions
        self._log = log
        self._next: dict[Partition, int] = {}

    def forget(self) -> None:
        """Read the positions again from the store (partitions moved: another worker may have gone on)."""
        self._next.clear()

    async def complete(self, partition: Partition, delivered: Sequence[RawMessage]) -> list[RawMessage]:
        """What to apply, in offset order: the delivered events at or past the position, and any hole read back."""
        position = await self.position(partition)
        run: list[RawMessage] = []
        for message in delivered:
            if message.offset < position:
                continue  # applied before (Faust fetches again from the last offset it committed)
            if message.offset > position:
                run += await self._hole(partition, position, message.offset)
            run.append(message)
            position = message.offset + 1
        return run

    async def behind(self, partition: Partition, end: int, limit: int) -> tuple[list[RawMessage], int]:
        """The records of up to `limit` offsets from the position towards `end` (a tail Faust never delivered), read
        from the log, and the offset the read reached (the position itself when it is at `end` already)."""
        position = await self.position(partition)
        reach = max(position, min(end, position + limit))
        return (await self._hole(partition, position, reach) if position < reach else []), reach

    async def advance(self, partition: Partition, run: Sequence[RawMessage]) -> None:
        """Record `run` (just made durable) as applied: the partition's position moves past its last offset."""
        if run:
            await self.advance_to(partition, run[-1].offset + 1)

    async def advance_to(self, partition: Partition, following: int) -> None:
        """Record every offset below `following` as applied (or as holding no record)."""
        await self._positions.save(self.consumer, {partition: following})
        self._next[partition] = following

    async def position(self, partition: Partition) -> int:
        """The offset of the partition's next event to apply."""
        if partition not in self._next:
            stored = await self._positions.load(self.consumer, partition)
            # Never applied anything here: from the start of the log, not from wherever Faust starts.
            self._next[partition] = stored if stored is not None else await self._log.earliest(partition)
        return self._next[partition]

    async def _hole(self, partition: Partition, start: int, end: int) -> list[RawMessage]:
        found = await self._log.read(partition, start, end)
        if found:  # events Faust never delivered: the case this class exists for
            EVENTS_READ_BACK.labels(self.consumer, partition[0]).inc(len(found))
            log.warning(
                "undelivered_events_read_back",
                consumer=self.consumer,
                topic=partition[0],
                partition=partition[1],
                start=start,
                end=end,
                events=len(found),
            )
        return found


class InMemoryLog:
    """The fake log: the records appended, per partition; earliest is the lowest offset kept (0 when empty)."""

    def __init__(self) -> None:
        self.records: dict[Partition, list[RawMessage]] = {}
        self.reads: list[tuple[Partition, int, int]] = []

    def append(self, message: RawMessage) -> None:
        self.records.setdefault((message.topic, message.partition), []).append(message)

    async def earliest(self, partition: Partition) -> int:
        return min((m.offset for m in self.records.get(partition, ())), default=0)

    async def ends(self, partitions: Sequence[Partition]) -> dict[Partition, int]:
        return {p: max((m.offset + 1 for m in self.records.get(p, ())), default=0) for p in partitions}

    async def read(self, partition: Partition, start: int, end: int) -> list[RawMessage]:
        self.reads.append((partition, start, end))
        return sorted((m for m in self.records.get(partition, ()) if start <= m.offset < end), key=lambda m: m.offset)
