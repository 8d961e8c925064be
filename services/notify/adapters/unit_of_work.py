"""notify's event unit of work on PostgreSQL: one connection from the pool, one transaction."""

from datetime import datetime

import asyncpg

from services.notify.adapters import deliveries, delivery_log, feed, inbox, subscriptions
from services.notify.adapters.delivery_log import CancelledDelivery
from services.notify.adapters.feed import FeedEntry
from services.notify.domain.fanout import SubscriptionView
from services.notify.domain.model import PlannedDelivery
from shared import outbox
from shared.db.unit_of_work import PostgresUnit
from shared.outbox import OutboxRecord


class PostgresSubscriptions:
    """Subscriptions on the `subscriptions` table."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def active(self) -> list[SubscriptionView]:
        return await subscriptions.active_subscriptions(self._conn)


class PostgresReporters:
    """ReporterConcerns on the `reporter_concerns` table."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def known(self, concern_ids: list[str]) -> set[str]:
        rows = await self._conn.fetch(
            "SELECT concern_id FROM reporter_concerns WHERE concern_id = ANY($1::text[])", concern_ids
        )
        return {row["concern_id"] for row in rows}

    async def add(self, reported: dict[str, datetime]) -> None:
        await self._conn.executemany(
            "INSERT INTO reporter_concerns (concern_id, reported_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            list(reported.items()),
        )

    async def forget(self, concern_id: str) -> None:
        await self._conn.execute("DELETE FROM reporter_concerns WHERE concern_id = $1", concern_id)


class PostgresDeliveries:
    """Deliveries on the `deliveries` table."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def add(self, planned: list[PlannedDelivery]) -> None:
        await deliveries.insert_deliveries(self._conn, planned)

    async def cancel_for_reporter(self, concern_id: str) -> list[CancelledDelivery]:
        return await delivery_log.cancel_reporter_deliveries(self._conn, concern_id)


class PostgresFeed:
    """Feed on the `feed_events` table (under the feed lock to the end of the unit)."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def append(self, entries: list[FeedEntry]) -> None:
        await feed.append_to_feed(self._conn, entries)


class PostgresOutbox:
    """Outbox on the shared outbox table, in the unit's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def add(self, topic: str, records: list[OutboxRecord]) -> None:
        await outbox.enqueue(self._conn, topic, records)


class PostgresEventUnit(PostgresUnit):
    """EventUnitOfWork on PostgreSQL; `consumer` names this service in the processed-events inbox."""

    def __init__(self, pool: asyncpg.Pool, consumer: str):
        super().__init__(pool)
        self._consumer = consumer

    async def first_deliveries(self, event_ids: list[str]) -> set[str]:
        return await inbox.first_deliveries(self.conn, self._consumer, event_ids)

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.subscriptions = PostgresSubscriptions(conn)
        self.reporters = PostgresReporters(conn)
        self.deliveries = PostgresDeliveries(conn)
        self.feed = PostgresFeed(conn)
        self.outbox = PostgresOutbox(conn)
