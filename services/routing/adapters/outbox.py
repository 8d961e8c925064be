"""Writing events to the transactional outbox, in the same transaction as the effect they describe."""

from collections.abc import Iterable

import asyncpg

from shared.contracts.envelope import Envelope, encode

CHANNEL = "routing_outbox"
"""LISTEN/NOTIFY channel that wakes the relay when an outbox transaction commits."""


async def enqueue(conn: asyncpg.Connection, topic: str, envelopes: Iterable[Envelope]) -> None:
    """Add events to the outbox (keyed by their subject); an event id already there is not added twice."""
    rows = [(topic, e.subject, e.id, e.type, encode(e)) for e in envelopes]
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO outbox (topic, key, event_id, event_type, payload) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (event_id) DO NOTHING",
        rows,
    )
    # Delivered when the transaction commits; several in one transaction fold into one.
    await conn.execute(f"NOTIFY {CHANNEL}")
