"""Applying one event to the projections: shared advisory lock, inbox and effect in one transaction."""

from typing import Any

import asyncpg

from services.stats.adapters.projections import PROJECTION_LOCK, PostgresProjectionWriter
from services.stats.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from shared.contracts.envelope import Envelope
from shared.db.inbox import first_delivery
from shared.kafka.errors import UnhandledEvent


async def apply_in(conn: asyncpg.Connection, consumer: str, event: Envelope[Any]) -> bool:
    """Apply `event` through `conn` (already in a transaction) unless its id was applied; True when applied.

    A type listed in IGNORED_EVENTS is acknowledged and left alone; any other type without a handler is dead-lettered.
    """
    handler = EVENT_HANDLERS.get(event.type)
    if handler is None and event.type in IGNORED_EVENTS:
        return False
    if handler is None:
        raise UnhandledEvent(f"no handler for {event.type}")
    if not await first_delivery(conn, consumer, event.id):
        return False
    await handler(event, PostgresProjectionWriter(conn))
    return True


class ProjectionApplier:
    """The live path: each event in its own transaction, holding the projection lock shared."""

    def __init__(self, pool: asyncpg.Pool, consumer: str):
        self._pool = pool
        self._consumer = consumer

    async def __call__(self, event: Envelope[Any]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # A rebuild's swap takes this lock exclusively: live updates wait instead of writing to old tables.
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", PROJECTION_LOCK)
            await apply_in(conn, self._consumer, event)
