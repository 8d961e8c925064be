"""One pooled connection kept by a loop that queries all the time, instead of one per query."""

import contextlib
from collections.abc import AsyncIterator

import asyncpg


class StickyConnection:
    """Acquired once and reused; after any error it goes back to the pool and a fresh one is taken.

    asyncpg resets a connection (a round trip and work for PostgreSQL) every time it returns to the
    pool; the delivery loops query many times a second, so they keep theirs. Use from one task only.
    """

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool
        self._conn: asyncpg.Connection | None = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The kept connection (acquired on first use)."""
        if self._conn is None:
            self._conn = await self._pool.acquire()
        try:
            yield self._conn
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Give the connection back to the pool, which resets or discards it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await self._pool.release(conn)
