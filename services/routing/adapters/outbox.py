"""Writing events to the transactional outbox, in the same transaction as the effect they describe."""

from collections.abc import Iterable

import asyncpg

from shared.contracts.envelope import Envelope, encode

CHANNEL = "routing_outbox"
"""LISTEN/NOTIFY channel that wakes the relay when an outbox transaction commits."""


async def enqueue(conn: asyncpg.Connection, topic: str, envelopes: Iterable[Envelope]) -> None:
    """Add events to the outbox (keyed by their subject); an event id already there is not added twice."""
    envelopes = list(envelopes)
    if not envelopes:
        return
    # One statement for the batch; ids (the relay's order, and so the order per key) follow the given order.
    await conn.execute(
        "INSERT INTO outbox (topic, key, event_id, event_type, payload) "
        "SELECT $1, key, event_id, event_type, payload "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) WITH ORDINALITY "
        "AS batch (key, event_id, event_type, payload, n) ORDER BY n ON CONFLICT (event_id) DO NOTHING",
        topic,
        [e.subject for e in envelopes],
        [e.id for e in envelopes],
        [e.type for e in envelopes],
        [encode(e) for e in envelopes],
    )
    # Delivered when the transaction commits; several in one transaction fold into one.
    await conn.execute(f"NOTIFY {CHANNEL}")
