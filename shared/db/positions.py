"""Consumer positions: per consumer and partition, the offset below which every event is durably applied."""

from collections.abc import Mapping
from typing import Protocol

import asyncpg

Partition = tuple[str, int]
"""(topic, partition)"""


class Positions(Protocol):
    """Port: where a consumer stands in its partitions (PostgreSQL in production, a dict in unit tests)."""

    async def load(self, consumer: str, partition: Partition) -> int | None: ...
    async def save(self, consumer: str, positions: Mapping[Partition, int]) -> None: ...


class PostgresPositions:
    """consumer_positions in the service's own database (migration shared_0004)."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def load(self, consumer: str, partition: Partition) -> int | None:
        """The stored next offset, or None when this consumer never finished a batch of the partition."""
        return await self._pool.fetchval(
            "SELECT next_offset FROM consumer_positions WHERE consumer = $1 AND topic = $2 AND partition = $3",
            consumer,
            *partition,
        )

    async def save(self, consumer: str, positions: Mapping[Partition, int]) -> None:
        """Move the positions forward (never back: a slower worker finishing an older batch changes nothing)."""
        if not positions:
            return
        topics, partitions, offsets = zip(*((t, p, o) for (t, p), o in positions.items()), strict=True)
        await self._pool.execute(
            "INSERT INTO consumer_positions (consumer, topic, partition, next_offset) "
            "SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[]) "
            "ON CONFLICT (consumer, topic, partition) DO UPDATE "
            "SET next_offset = greatest(consumer_positions.next_offset, excluded.next_offset), updated_at = now()",
            consumer,
            list(topics),
            list(partitions),
            list(offsets),
        )


class InMemoryPositions:
    """The fake: a dict, forward only like the real one."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str, int], int] = {}

    async def load(self, consumer: str, partition: Partition) -> int | None:
        return self.stored.get((consumer, *partition))

    async def save(self, consumer: str, positions: Mapping[Partition, int]) -> None:
        for (topic, partition), offset in positions.items():
            key = (consumer, topic, partition)
            self.stored[key] = max(self.stored.get(key, offset), offset)
