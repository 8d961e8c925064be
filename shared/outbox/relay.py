"""The outbox relay: publishes a service's committed outbox rows to Kafka, in order per key, at least once.

One relay per service leads at a time (an advisory lock held by its own PostgreSQL session; a killed
process's session ends and a waiting relay of another process takes over). The leader reads the oldest
unpublished rows in id order, sends them (each partition's rows in order, see kafka.py), waits for the
broker's acknowledgements and only then marks them published. A crash in between leaves them unpublished:
the next leader sends them again. A database failure (or a stop) in between is different: the broker has the
rows, and this relay remembers their ids and marks them before its next batch, so a PostgreSQL outage or a stop
while marking does not publish a batch twice (another process that took the lead meanwhile does, once; so does
this one when that mark fails too). Consumers are idempotent (their inboxes), so a repeat is harmless, and the
order per key holds for the first copy of each event: every relay sends a key's rows in id order and marks
them only once acknowledged, so a row is first sent only after every earlier row of its key was sent, even
while a deposed leader is still finishing its batch.
"""

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from shared.logging import get_logger
from shared.metrics import EVENTS_PUBLISHED
from shared.outbox import metrics
from shared.outbox.kafka import Sender
from shared.outbox.postgres import OutboxRow

log = get_logger(__name__)


class Session(Protocol):
    """A leader's hold on the outbox (postgres.LeaderSession; an in-memory fake in fakes.py)."""

    def wake(self) -> None: ...
    async def wait(self, timeout: float) -> bool: ...
    async def pending(self, limit: int) -> list[OutboxRow]: ...
    async def mark(self, ids: list[int]) -> None: ...
    async def backlog(self) -> tuple[int, float]: ...
    async def purge(self, retention_s: float) -> None: ...


class Outbox(Protocol):
    """Leadership over one service's outbox."""

    def lead(self, retry_s: float) -> AbstractAsyncContextManager[Session]: ...


class OutboxRelay:
    """Runs until cancelled: waits for leadership, then publishes on NOTIFY and every poll interval."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Callable[[], AbstractAsyncContextManager[Sender]],
        *,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        linger_s: float = 0.0,
        retention_s: float = 3600.0,
        drain_s: float = 2.0,
    ):
        self._outbox = outbox
        self._senders = senders
        self._service = service
        self._batch = batch_size
        self._poll = poll_interval_s
        self._linger = linger_s
        self._retention = retention_s
        self._drain_s = drain_s
        self._session: Session | None = None
        self._unmarked: list[int] = []
        """Ids the broker acknowledged whose mark failed (the database went away): marked first on the next lead."""

    def wake(self) -> None:
        """Publish soon (an in-process hint that rows were committed; NOTIFY wakes the leader as well)."""
        if self._session is not None:
            self._session.wake()

    async def run(self) -> None:
        """Lead when the lock is free; after a database or broker failure, lead again after a backoff."""
        metrics.LEADER.labels(self._service).set(0)  # a waiting relay reports too: no leader anywhere shows as 0
        backoff = self._poll
        while True:
            try:
                async with self.leading() as (session, sender):
                    backoff = self._poll
                    await self._lead(session, sender)
            except Exception as error:  # noqa: BLE001 - the relay must outlive any one failure
                metrics.ERRORS.labels(self._service, type(error).__name__).inc()
                log.warning("outbox_relay_failed", service=self._service, error=type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def relay_batch(self, session: Session, sender: Sender) -> int:
        """Publish the oldest pending rows and mark them; returns how many."""
        if self._unmarked:  # published, but the mark failed or was cancelled: mark them, do not send them again
            # Tried once: a mark refused on a working connection is no outage, and the rows are sent again instead
            # (at least once), so a relay that cannot mark never stops publishing what is committed after them.
            unmarked, self._unmarked = self._unmarked, []
            await session.mark(unmarked)
            log.info("outbox_relay_marked_after_failure", service=self._service, rows=len(unmarked))
        started = time.perf_counter()
        rows = await session.pending(self._batch)
        if not rows:
            return 0
        await sender.send(rows)
        self._unmarked = [r.id for r in rows]
        await session.mark(self._unmarked)
        self._unmarked = []
        metrics.BATCH_SECONDS.labels(self._service).observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.labels(self._service).observe(len(rows))
        for (topic, event_type), count in Counter((r.topic, r.event_type) for r in rows).items():
            metrics.PUBLISHED.labels(self._service, event_type).inc(count)
            EVENTS_PUBLISHED.labels(topic, event_type).inc(count)
        return len(rows)

    @contextlib.asynccontextmanager
    async def leading(self) -> AsyncIterator[tuple[Session, Sender]]:
        """Leadership and a sender for it; the leader gauge is 1 meanwhile."""
        async with self._outbox.lead(self._poll) as session, self._senders() as sender:
            self._session = session
            metrics.LEADER.labels(self._service).set(1)
            log.info("outbox_relay_leading", service=self._service)
            try:
                yield session, sender
            finally:
                self._session = None
                metrics.LEADER.labels(self._service).set(0)
                metrics.PENDING.labels(self._service).set(0)
                metrics.LAG.labels(self._service).set(0)

    async def _lead(self, session: Session, sender: Sender) -> None:
        try:
            await self._publish_while_leading(session, sender)
        except asyncio.CancelledError:
            # Stopping: publish what is committed first (a short while at most), so a restart or a rolling deploy
            # does not hold events back until the next leader starts; whatever is left waits for it.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._drain_s):
                    while await self.relay_batch(session, sender) >= self._batch:
                        pass
            raise

    async def _publish_while_leading(self, session: Session, sender: Sender) -> None:
        last_backlog = last_purge = 0.0
        while True:
            while await self.relay_batch(session, sender) >= self._batch:
                pass
            if time.monotonic() - last_backlog >= 1.0:  # gauges: once a second is enough, not on every wake-up
                pending, age = await session.backlog()
                metrics.PENDING.labels(self._service).set(pending)
                metrics.LAG.labels(self._service).set(age)
                last_backlog = time.monotonic()
            if time.monotonic() - last_purge >= 60.0:
                await session.purge(self._retention)
                last_purge = time.monotonic()
            if await session.wait(self._poll) and self._linger:
                await asyncio.sleep(self._linger)  # commits come in quick succession under load: gather a few
