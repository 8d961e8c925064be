"""Batches the outcomes of concurrent attempts into one database statement (fewer round trips per delivery)."""

import asyncio
import contextlib

import asyncpg

from services.notify.adapters.outcomes import Outcome, PostgresOutcomes
from services.notify.handlers.ports import OutcomeStore

Pending = tuple[Outcome, asyncio.Future[bool]]


class OutcomeRecorder:
    """`await record(outcome)` resolves once the outcome is stored (True) or the lease was lost (False).

    `store`: where the outcomes go (a fake in unit tests); None: PostgreSQL on `pool`, as `owner`."""

    def __init__(
        self,
        pool: asyncpg.Pool | None,
        owner: str,
        *,
        max_batch: int = 200,
        linger_s: float = 0.01,
        store: OutcomeStore | None = None,
    ):
        assert store is not None or pool is not None, "an outcome store or a pool"
        self._store: OutcomeStore = store or PostgresOutcomes(pool, owner)  # type: ignore[arg-type]
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._pending: list[Pending] = []
        self._arrived = asyncio.Event()

    async def record(self, outcome: Outcome) -> bool:
        """Queue an outcome for the next batch and wait for it; raises the database's error if it fails."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        self._arrived.set()
        return await future

    async def run(self) -> None:
        """Write batches until cancelled; a batch's failure is handed to each waiting caller."""
        try:
            while True:
                await self._arrived.wait()
                await asyncio.sleep(self._linger_s)  # let concurrent attempts join the batch
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                if not self._pending:
                    self._arrived.clear()
                await self._write(batch)
        finally:
            for _, future in self._pending:
                future.cancel()
            await self._store.close()

    async def _write(self, batch: list[Pending]) -> None:
        try:
            applied = await self._store.write([outcome for outcome, _ in batch])
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for outcome, future in batch:
            with contextlib.suppress(asyncio.InvalidStateError):
                future.set_result(outcome.delivery.id in applied)
