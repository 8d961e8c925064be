"""The outbox relay: publishes committed outbox rows to Kafka in order per key, then marks them published.

Several intake processes may run it at once. Each batch claims the oldest unpublished row of each key that no
other relay holds (FOR UPDATE SKIP LOCKED), plus the later rows of those keys, publishes each key's rows in
order (keys in parallel), waits for the broker's acks and only then marks them published and commits. A crash
in between leaves the rows unpublished: they are published again (at-least-once; consumers de-duplicate).
"""

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.intake.metrics import OUTBOX_LAG, OUTBOX_PENDING, RELAY_BATCH_SECONDS, RELAY_ERRORS
from shared.contracts.envelope import decode
from shared.kafka.producer import EventPublisher
from shared.logging import get_logger
from shared.metrics import EVENTS_PUBLISHED

log = get_logger(__name__)
CHANNEL = "intake_outbox"

# The oldest unpublished row of each key; a key whose head another relay holds is skipped entirely.
_CLAIM_HEADS = """
SELECT id, topic, kafka_key, event_type, envelope FROM outbox o
WHERE published_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM outbox p WHERE p.kafka_key = o.kafka_key AND p.published_at IS NULL AND p.id < o.id
  )
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
# The later rows of the keys whose heads this relay holds: no other relay can claim them meanwhile.
_CLAIM_FOLLOWERS = """
SELECT id, topic, kafka_key, event_type, envelope FROM outbox
WHERE published_at IS NULL AND kafka_key = ANY($1::text[]) AND NOT (id = ANY($2::bigint[]))
ORDER BY id
LIMIT $3
FOR UPDATE
"""
_LAG = "SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox WHERE published_at IS NULL"


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting to be published."""

    id: int
    topic: str
    kafka_key: str
    event_type: str
    envelope: bytes


class OutboxRelay:
    """Drains the outbox whenever woken (NOTIFY) and at least every poll interval."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        *,
        dsn: str,
        physical_topic: Callable[[str], str],
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention_hours: float = 72.0,
    ):
        self._pool = pool
        self._publisher = publisher
        self._dsn = dsn
        self._topic = physical_topic
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retention_hours = retention_hours
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._last_cleanup = 0.0

    async def run(self) -> None:
        """Relay until cancelled; database or broker failures are logged and retried with backoff."""
        backoff = 0.2
        while True:
            try:
                await self._ensure_listener()
                while await self.relay_batch() >= self._batch_size:
                    pass
                await self._observe_lag()
                await self._cleanup()
                backoff = 0.2
            except asyncio.CancelledError:
                await self._close_listener()
                raise
            except Exception as error:  # noqa: BLE001 - the relay must outlive any one failure
                RELAY_ERRORS.labels(type(error).__name__).inc()
                log.warning("outbox_relay_failed", error=type(error).__name__, retry_in_s=round(backoff, 2))
                await self._close_listener()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)
            self._wake.clear()

    async def relay_batch(self) -> int:
        """Publish one batch and mark it published; returns how many rows it claimed."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            heads = [OutboxRow(**dict(r)) for r in await conn.fetch(_CLAIM_HEADS, self._batch_size)]
            if not heads:
                return 0
            followers = await conn.fetch(
                _CLAIM_FOLLOWERS, list({r.kafka_key for r in heads}), [r.id for r in heads], self._batch_size
            )
            rows = sorted(heads + [OutboxRow(**dict(r)) for r in followers], key=lambda r: r.id)
            await self._publish(rows)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r.id for r in rows]
            )
        RELAY_BATCH_SECONDS.observe(time.perf_counter() - started)
        return len(heads)

    async def _publish(self, rows: list[OutboxRow]) -> None:
        """Each key's rows one after another, in outbox order; different keys at the same time."""
        by_key: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            by_key[row.kafka_key].append(row)

        async def publish_key(key_rows: list[OutboxRow]) -> None:
            for row in key_rows:
                topic = self._topic(row.topic)
                await self._publisher.publish(topic, decode(row.envelope), key=row.kafka_key)
                EVENTS_PUBLISHED.labels(topic, row.event_type).inc()

        # A failure cancels the rest and the transaction rolls back: every row of the batch is tried again.
        async with asyncio.TaskGroup() as group:
            for key_rows in by_key.values():
                group.create_task(publish_key(key_rows))

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await asyncpg.connect(self._dsn, timeout=5.0)
        await self._listener.add_listener(CHANNEL, lambda *_: self._wake.set())

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.close(), timeout=2.0)

    async def _observe_lag(self) -> None:
        pending, age = await self._pool.fetchrow(_LAG)
        OUTBOX_PENDING.set(pending)
        OUTBOX_LAG.set(float(age or 0.0))

    async def _cleanup(self) -> None:
        # Published rows are kept a while for inspection, then removed; once an hour is often enough.
        if time.monotonic() - self._last_cleanup < 3600:
            return
        self._last_cleanup = time.monotonic()
        await self._pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)", self._retention_hours * 3600
        )
