"""The relay's side of the outbox table: leadership by advisory lock, pending rows in id order, marks, backlog."""

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

WAKE_CHANNEL = "outbox_events"
"""NOTIFY channel of the table's insert trigger (shared_0003_outbox.sql)."""


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting to be published."""

    id: int
    topic: str
    key: str
    event_id: str
    event_type: str
    payload: bytes
    traceparent: str | None = None
    """The W3C traceparent of the span that wrote the row (NULL while tracing is off)."""


def lock_key(service: str) -> int:
    """The advisory lock of `service`'s relay (distinct per service, should two share a database)."""
    return zlib.crc32(f"outbox-relay:{service}".encode()) - 2**31


class Wakeable:
    """What a leader waits on between batches: a NOTIFY, an in-process hint, or the poll interval."""

    def __init__(self) -> None:
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Wake the relay as a NOTIFY would (an in-process hint that rows were committed)."""
        self._woken.set()

    async def wait(self, timeout: float) -> bool:
        """Until woken (True) or `timeout` seconds passed (False)."""
        try:
            await asyncio.wait_for(self._woken.wait(), timeout)
        except TimeoutError:
            return False
        self._woken.clear()
        return True


class LeaderSession(Wakeable):
    """The leading relay's own connection: it holds the lock, hears NOTIFY and reads and marks rows."""

    def __init__(self, conn: asyncpg.Connection):
        super().__init__()
        self._conn = conn

    async def listen(self) -> None:
        """Hear the insert trigger's NOTIFY from now on."""
        await self._conn.add_listener(WAKE_CHANNEL, lambda *_: self.wake())

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest unpublished rows, in id order."""
        rows = await self._conn.fetch(
            "SELECT id, topic, key, event_id, event_type, payload, traceparent FROM outbox_events "
            "WHERE published_at IS NULL ORDER BY id LIMIT $1",
            limit,
        )
        return [OutboxRow(**dict(r)) for r in rows]

    async def mark(self, ids: list[int]) -> None:
        """Mark rows published (the broker has them)."""
        await self._conn.execute("UPDATE outbox_events SET published_at = now() WHERE id = ANY($1::bigint[])", ids)

    async def backlog(self) -> tuple[int, float]:
        """How many rows wait, and the age in seconds of the oldest."""
        count, age = await self._conn.fetchrow(
            "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox_events WHERE published_at IS NULL"
        )
        return int(count), float(age or 0.0)

    async def purge(self, retention_s: float) -> None:
        """Remove rows published longer than `retention_s` ago (kept a while for inspection)."""
        await self._conn.execute(
            "DELETE FROM outbox_events WHERE published_at < now() - make_interval(secs => $1)", retention_s
        )


class PostgresOutbox:
    """Leadership over one service's outbox: at most one session holds its advisory lock at a time."""

    def __init__(self, dsn: str, service: str):
        self._dsn = dsn
        self._service = service

    @contextlib.asynccontextmanager
    async def lead(self, retry_s: float) -> AsyncIterator[LeaderSession]:
        """Wait for the lock (trying every `retry_s`), then a session holding it; the lock ends with the connection.

        A killed relay's connection ends, and with it the lock: a waiting relay of another process takes over.
        """
        conn = await asyncpg.connect(
            self._dsn, timeout=5.0, server_settings={"application_name": f"{self._service}-outbox-relay"}
        )
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(self._service)):  # noqa: ASYNC110
                await asyncio.sleep(retry_s)  # another relay leads: ask again (a blocking wait would outlive a cancel)
            session = LeaderSession(conn)
            await session.listen()
            yield session
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2.0)
