"""The outbox: outcome events written with the outcome, then relayed to Kafka and removed."""

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.notify.adapters.sticky import StickyConnection
from shared.contracts.envelope import Envelope, encode
from shared.logging import get_logger
from shared.metrics import EVENTS_PUBLISHED

log = get_logger(__name__)


@dataclass(frozen=True)
class OutboxEvent:
    """An event waiting to be published."""

    topic: str
    key: str
    event_id: str
    event_type: str
    payload: bytes

    @classmethod
    def of(cls, topic: str, envelope: Envelope, key: str) -> "OutboxEvent":
        """Encode an envelope for the outbox."""
        return cls(topic, key, envelope.id, envelope.type, encode(envelope))


async def insert_outbox(conn: asyncpg.Connection, events: list[OutboxEvent]) -> None:
    """Add events inside the caller's transaction."""
    if events:
        await conn.executemany(
            "INSERT INTO outbox (topic, key, event_id, event_type, payload) VALUES ($1, $2, $3, $4, $5)",
            [(e.topic, e.key, e.event_id, e.event_type, e.payload) for e in events],
        )


class OutboxRelay:
    """Publishes the outbox in order, a batch at a time; safe with several processes (rows are locked)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch: int = 500,
        poll_s: float = 0.5,
        linger_s: float = 0.05,
    ):
        self._kept = StickyConnection(pool)
        self._producer = producer
        self._batch = batch
        self._poll_s = poll_s
        self._linger_s = linger_s
        self.wakeup = asyncio.Event()

    async def relay_once(self) -> int:
        """Publish one batch and delete it; returns how many were published."""
        async with self._kept.connection() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, topic, key, event_id, event_type, payload FROM outbox ORDER BY seq LIMIT $1"
                " FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            if not rows:
                return 0
            sends = [
                await self._producer.send(
                    row["topic"],
                    bytes(row["payload"]),
                    key=row["key"].encode(),
                    headers=[("ce_type", row["event_type"].encode()), ("ce_id", row["event_id"].encode())],
                )
                for row in rows
            ]
            await asyncio.gather(*sends)
            await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", [row["seq"] for row in rows])
        for row in rows:
            EVENTS_PUBLISHED.labels(row["topic"], row["event_type"]).inc()
        return len(rows)

    async def run(self) -> None:
        """Relay until cancelled; a broker or database outage is waited out (the rows stay in the outbox)."""
        try:
            while True:
                self.wakeup.clear()
                try:
                    if await self.relay_once() == self._batch:
                        continue
                except (KafkaError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                    log.warning("outbox_relay_failed", error=type(error).__name__)
                    await asyncio.sleep(1.0)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_s):
                        await self.wakeup.wait()
                        # Every recorded outcome wakes the relay; waiting a moment lets one transaction
                        # and one produce request carry many events instead of one each.
                        await asyncio.sleep(self._linger_s)
        finally:
            await self._kept.close()
