"""Writing events to the transactional outbox, in the same transaction as the effect they describe."""

from collections.abc import Iterable, Sequence

import asyncpg

from services.routing.adapters.wire import OutboxRecord
from shared.contracts.envelope import Envelope, encode

CHANNEL = "routing_outbox"
"""LISTEN/NOTIFY channel that wakes the relay when an outbox transaction commits."""


async def enqueue(
    conn: asyncpg.Connection,
    topic: str,
    envelopes: Iterable[Envelope],
    *,
    effect: tuple[str, list] | None = None,
) -> None:
    """Add events to the outbox (keyed by their subject); an event id already there is not added twice.

    `effect`: a data-modifying statement (SQL, parameters from $1) run in the same statement, before the
    outbox rows: the effect, its events and the relay's wake-up in one round trip.
    """
    records = [OutboxRecord(e.subject, e.id, e.type, encode(e)) for e in envelopes]
    await enqueue_records(conn, topic, records, effect=effect)


async def enqueue_records(
    conn: asyncpg.Connection,
    topic: str,
    records: Sequence[OutboxRecord],
    *,
    effect: tuple[str, list] | None = None,
) -> None:
    """`enqueue` for events encoded already (see adapters/wire.py)."""
    effect_sql, args = effect or ("", [])
    if not records and not effect_sql:
        return
    n = len(args)
    # One statement for the batch; ids (the relay's order, and so the order per key) follow the given order.
    queue = (
        f"INSERT INTO outbox (topic, key, event_id, event_type, payload) "  # noqa: S608 - placeholders only
        f"SELECT ${n + 1}, key, event_id, event_type, payload "
        f"FROM unnest(${n + 2}::text[], ${n + 3}::text[], ${n + 4}::text[], ${n + 5}::bytea[]) WITH ORDINALITY "
        f"AS batch (key, event_id, event_type, payload, n) ORDER BY n ON CONFLICT (event_id) DO NOTHING"
    )
    effect_cte = f"effect AS ({effect_sql}), " if effect_sql else ""
    # pg_notify is delivered when the transaction commits; several in one transaction fold into one.
    await conn.execute(
        f"WITH {effect_cte}queued AS ({queue}) SELECT pg_notify('{CHANNEL}', '')",
        *args,
        topic,
        [r.key for r in records],
        [r.event_id for r in records],
        [r.event_type for r in records],
        [r.payload for r in records],
    )
