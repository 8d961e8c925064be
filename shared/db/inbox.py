"""The processed-events inbox that makes consumers idempotent."""

import asyncpg


async def first_delivery(conn: asyncpg.Connection, consumer: str, event_id: str) -> bool:
    """Record `event_id` as applied by `consumer`; False when it already was.

    Call inside the transaction that applies the event's effect: the effect and the record commit
    together, so a redelivered event finds its record and is skipped. A concurrent duplicate waits
    on the primary key until the first transaction ends, then sees it.
    """
    inserted = await conn.fetchval(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event_id,
    )
    return bool(inserted)
