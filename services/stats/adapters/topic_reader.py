"""Reading whole topics, partition by partition, up to a snapshot of their end offsets (for rebuilds)."""

import asyncio
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka.config import partitions_of, security_config

Offsets = dict[TopicPartition, int]


class TopicReader:
    """A group-less consumer over every partition of some topics; nothing is committed."""

    def __init__(
        self, bootstrap_servers: str, topics: Sequence[str] = (), *, partitions: Sequence[TopicPartition] = ()
    ):
        self._bootstrap = bootstrap_servers
        self._topics = list(topics)
        self._consumer = AIOKafkaConsumer(
            **security_config(),
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            client_id="stats-rebuild",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            # aiokafka keeps one fetch in flight per broker and leaves out of it the partitions whose records
            # are still being consumed; a fetch that asks only for partitions at their end waits the whole
            # long-poll (500 ms by default), and every partition drained meanwhile waits with it.
            fetch_max_wait_ms=20,
        )
        self.partitions: list[TopicPartition] = list(partitions)

    async def __aenter__(self) -> "TopicReader":
        # The consumer's connection and the metadata of the topics (a short-lived admin client) at once.
        started = asyncio.gather(self._consumer.start(), partitions_of(self._bootstrap, *self._topics))
        try:
            _, found = await started
        except BaseException:
            await self._consumer.stop()
            raise
        self.partitions += found
        self._consumer.assign(self.partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def beginnings(self) -> Offsets:
        """The first offset still held by each partition."""
        return await self._consumer.beginning_offsets(self.partitions)

    async def ends(self) -> Offsets:
        """The offset after the last record of each partition, now."""
        return await self._consumer.end_offsets(self.partitions)

    async def batches(
        self, start: Offsets, stop: Offsets, only: Sequence[TopicPartition] | None = None
    ) -> AsyncIterator[list[ConsumerRecord]]:
        """Records from `start` up to (not including) `stop`, in batches; in order within each partition.

        `only` limits the read to some of the partitions."""
        chosen = set(self.partitions if only is None else only) & set(self.partitions)
        pending = {tp for tp in chosen if start.get(tp, 0) < stop.get(tp, 0)}
        for tp in pending:
            self._consumer.seek(tp, start.get(tp, 0))
        self._consumer.pause(*[tp for tp in self.partitions if tp not in pending])
        while pending:
            fetched = await self._consumer.getmany(*pending, timeout_ms=1000, max_records=20_000)
            for tp, records in fetched.items():
                wanted = [r for r in records if r.offset < stop[tp]]
                if wanted:
                    yield wanted
                if records and records[-1].offset + 1 >= stop[tp]:
                    pending.discard(tp)
                    self._consumer.pause(tp)
            for tp in list(pending):
                # A partition whose tail was compacted or aborted can end below its end offset.
                if await self._consumer.position(tp) >= stop[tp]:
                    pending.discard(tp)
        self._consumer.resume(*self.partitions)
