"""The shared processed-events inbox, a batch at a time (shared.db.inbox does one event)."""

import asyncpg


async def first_deliveries(conn: asyncpg.Connection, consumer: str, event_ids: list[str]) -> set[str]:
    """Record the ids as applied by `consumer`; returns those not recorded before (call inside the transaction)."""
    rows = await conn.fetch(
        """INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[])
           ON CONFLICT DO NOTHING RETURNING event_id""",
        consumer,
        event_ids,
    )
    return {row["event_id"] for row in rows}
