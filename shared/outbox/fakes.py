"""In-memory fakes of the outbox's ports, for unit tests of the relay."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shared.outbox.postgres import OutboxRow, Wakeable


@dataclass
class InMemoryOutbox:
    """The outbox table and its lock: one leader at a time, rows in id order."""

    rows: list[OutboxRow] = field(default_factory=list)
    published: set[int] = field(default_factory=set)
    purged: list[float] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(self, topic: str, key: str, event_type: str = "test.v1") -> OutboxRow:
        """Queue a row (its id is the next one)."""
        n = len(self.rows) + 1
        row = OutboxRow(n, topic, key, f"e-{n}", event_type, f"{key}:{n}".encode())
        self.rows.append(row)
        return row

    def pending_ids(self) -> list[int]:
        """Ids not yet marked published."""
        return [r.id for r in self.rows if r.id not in self.published]

    @contextlib.asynccontextmanager
    async def lead(self, retry_s: float) -> AsyncIterator["InMemorySession"]:
        """Hold the lock while the block runs (a second leader waits)."""
        async with self._lock:
            yield InMemorySession(self)


class InMemorySession(Wakeable):
    """A leader's view of an InMemoryOutbox."""

    def __init__(self, outbox: InMemoryOutbox):
        super().__init__()
        self._outbox = outbox

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest unmarked rows."""
        return [r for r in self._outbox.rows if r.id not in self._outbox.published][:limit]

    async def mark(self, ids: list[int]) -> None:
        """Mark rows published."""
        self._outbox.published.update(ids)

    async def backlog(self) -> tuple[int, float]:
        """How many rows wait (their age is not kept)."""
        return len(self._outbox.pending_ids()), 0.0

    async def purge(self, retention_s: float) -> None:
        """Record the purge."""
        self._outbox.purged.append(retention_s)


@dataclass
class RecordingSender:
    """Sender that records what it sent; `fail` may raise before or after a row is recorded (a crash)."""

    sent: list[OutboxRow] = field(default_factory=list)
    fail: Callable[[OutboxRow], None] | None = None

    async def send(self, rows: list[OutboxRow]) -> None:
        """Record each row in order; a `fail` that raises stops the batch there."""
        for row in rows:
            self.sent.append(row)
            if self.fail is not None:
                self.fail(row)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator["RecordingSender"]:
        """As kafka_sender: this sender for one leadership."""
        yield self
