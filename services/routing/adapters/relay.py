"""The outbox relay: publishes outbox rows to Kafka exactly once per event, even when a worker is killed.

One relay leads at a time (a PostgreSQL advisory lock held by its session; a killed worker's session
ends and another worker's relay takes over). The leader publishes each batch inside a Kafka transaction
and then marks the rows published. Its transactional id is the same for every worker, so a new leader's
producer fences the old one and aborts its unfinished transaction. A batch whose Kafka transaction
committed but whose rows were not marked (killed in between) is found on the topic by its `outbox-id`
headers when leadership starts, and marked instead of being sent again. Readers use read_committed.
"""

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from services.routing import metrics
from services.routing.adapters.outbox import CHANNEL
from shared.kafka.config import partitions_of, security_config
from shared.logging import get_logger

log = get_logger(__name__)
LOCK_KEY = 0x726F7574  # "rout": the relay's advisory lock in routing's own database
OUTBOX_ID = "outbox-id"
RECORD_BATCH_BYTES = 512 * 1024
"""Largest record batch the relay builds (the broker takes up to 1 MiB by default)."""
_PARTITIONER = DefaultPartitioner()


class OutboxRelay:
    """Runs until cancelled: waits for leadership, then publishes on NOTIFY and every poll interval."""

    def __init__(
        self,
        *,
        database_url: str,
        bootstrap_servers: str,
        transactional_id: str,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        linger_s: float = 0.02,
    ):
        self._dsn = database_url
        self._bootstrap = bootstrap_servers
        self._transactional_id = transactional_id
        self._batch = batch_size
        self._poll = poll_interval_s
        self._linger = linger_s

    async def run(self) -> None:
        """Lead when the lock is free; retry after failures (database or broker away)."""
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, server_settings={"application_name": "routing-relay"})
                try:
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                        metrics.RELAY_LEADER.set(1)
                        await self._lead(conn)
                finally:
                    metrics.RELAY_LEADER.set(0)
                    await conn.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError, TimeoutError) as error:
                log.warning("outbox_relay_failed", error=type(error).__name__)
            except Exception as error:  # a bug must not stop publishing for good: log it, then lead again
                log.error("outbox_relay_crashed", error=type(error).__name__, exc_info=True)
            await asyncio.sleep(self._poll)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        producer = AIOKafkaProducer(
            **security_config(),
            bootstrap_servers=self._bootstrap,
            client_id="routing-relay",
            transactional_id=self._transactional_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=RECORD_BATCH_BYTES,
        )
        await producer.start()  # init_transactions: fences the previous leader's producer
        try:
            await self._reconcile(conn)
            wake = asyncio.Event()
            await conn.add_listener(CHANNEL, lambda *_: wake.set())
            log.info("outbox_relay_leading")
            last_purge = last_count = 0.0
            while True:
                wake.clear()
                while await self._publish_batch(conn, producer) == self._batch:
                    pass
                if time.monotonic() - last_purge > 60:
                    await conn.execute("DELETE FROM outbox WHERE published_at < now() - interval '1 hour'")
                    last_purge = time.monotonic()
                if time.monotonic() - last_count > 1:  # a gauge: once a second is enough, not on every wake-up
                    metrics.OUTBOX_PENDING.set(
                        await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                    )
                    last_count = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._poll)
                    # Commits come in quick succession under load: gather a few into one Kafka transaction.
                    await asyncio.sleep(self._linger)
        finally:
            await producer.stop()

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        # No database transaction or row locks around it: only the holder of the advisory lock publishes, and a
        # batch committed to Kafka but not marked (killed in between) is found by `_reconcile` at the next lead.
        rows = await conn.fetch(
            "SELECT id, topic, key, event_id, event_type, payload FROM outbox WHERE published_at IS NULL "
            "ORDER BY id LIMIT $1",
            self._batch,
        )
        if not rows:
            return 0
        async with producer.transaction():
            await asyncio.gather(*await _send_in_batches(producer, rows))
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
        )
        for event_type, count in Counter(row["event_type"] for row in rows).items():
            metrics.OUTBOX_PUBLISHED.labels(event_type).inc(count)
        return len(rows)

    async def _reconcile(self, conn: asyncpg.Connection) -> None:
        """Mark rows whose batch a previous leader committed to Kafka but did not mark."""
        topics = [r["topic"] for r in await conn.fetch("SELECT DISTINCT topic FROM outbox WHERE published_at IS NULL")]
        if not topics:
            return
        found = await _published_ids(self._bootstrap, topics, window=2 * self._batch + 16)
        if found:
            result = await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL",
                sorted(found),
            )
            log.info("outbox_reconciled", marked=int(result.split()[-1]))


async def _send_in_batches(producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> list[asyncio.Future]:
    """Send the rows as record batches, one per partition (more when one fills), in outbox order within each.

    The same partition as `producer.send` would choose (the default partitioner over the key), but one append
    per row instead of a send with its own future, partitioning and accumulator round: the relay's cost per
    event fell by about two thirds. Returns the batches' delivery futures.
    """
    partitions: dict[str, list[int]] = {}
    partition_of: dict[tuple[str, str], int] = {}
    filling: dict[tuple[str, int], Any] = {}
    sent: list[asyncio.Future] = []
    for row in rows:
        topic, key = row["topic"], row["key"]
        if (partition := partition_of.get((topic, key))) is None:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            all_partitions = partitions[topic]
            partition = partition_of[(topic, key)] = _PARTITIONER(key.encode(), all_partitions, all_partitions)
        record = {
            "key": key.encode(),
            "value": row["payload"],
            "timestamp": None,
            "headers": [
                ("ce_type", row["event_type"].encode()),
                ("ce_id", row["event_id"].encode()),
                (OUTBOX_ID, str(row["id"]).encode()),
            ],
        }
        batch = filling.get((topic, partition))
        if batch is None or batch.append(**record) is None:  # none yet, or full: send it, start the next
            if batch is not None:
                sent.append(await producer.send_batch(batch, topic, partition=partition))
            batch = filling[(topic, partition)] = producer.create_batch()
            batch.append(**record)  # the first record always fits
    for (topic, partition), batch in filling.items():
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    return sent


async def _published_ids(bootstrap: str, topics: list[str], *, window: int) -> set[int]:
    """The outbox ids in the last committed `window` records of every partition of `topics`."""
    consumer = AIOKafkaConsumer(
        **security_config(),
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: set[int] = set()
    try:
        partitions = await partitions_of(consumer, *topics)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(0, ends[tp] - window))
        deadline = time.monotonic() + 60
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError("reading the topic's tail took too long")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    value = dict(record.headers or ()).get(OUTBOX_ID)
                    if value is not None:
                        found.add(int(value))
    finally:
        await consumer.stop()
    return found
