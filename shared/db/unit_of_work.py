"""The transaction under every service's unit of work: PostgreSQL's, and the in-memory fake's beside it.

A service's unit of work subclasses one of them and names its repositories (`_bind` for PostgreSQL: they get the
unit's connection; plain attributes over `tables` for the fake); its port, the Protocol its handlers see, extends
`Unit` with those repositories.
"""

import copy
from types import TracebackType
from typing import Any, Protocol, Self

import asyncpg


class Unit(Protocol):
    """The port of a unit of work: one transaction, what happens inside `async with` commits together, or not at all
    (a service's UnitOfWork Protocol extends it with its repositories)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class PostgresUnit:
    """One connection from the pool and one transaction: committed when the block ends, rolled back on an error."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool
        self._conn: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None

    @property
    def conn(self) -> asyncpg.Connection:
        """The unit's connection (only inside `async with`)."""
        assert self._conn is not None, "use the unit of work inside `async with`"
        return self._conn

    def _bind(self, conn: asyncpg.Connection) -> None:
        """Make the repositories on the unit's connection."""

    async def __aenter__(self) -> Self:
        self._conn = await self._pool.acquire()
        try:
            self._transaction = self._conn.transaction()
            await self._transaction.start()
        except BaseException:
            await self._pool.release(self._conn)
            raise
        self._bind(self._conn)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._conn is not None and self._transaction is not None
        try:
            if kind is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = self._transaction = None


class InMemoryUnit:
    """The fake's transaction over `tables` (a dataclass of plain collections): an error inside rolls them back.

    Call it for a unit (as a service's `Deps.uow`): it is its own factory, so a test reads what was committed.
    """

    def __init__(self, tables: Any):
        self.tables = tables
        self.commits = 0
        self._saved: Any = None

    def __call__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        self._saved = copy.deepcopy(self.tables)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commits += 1
        elif self._saved is not None:
            self.tables.__dict__.update(self._saved.__dict__)
        self._saved = None
