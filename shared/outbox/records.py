"""Writing to the outbox: events commit in the transaction of the change they describe, in the given order."""

from collections.abc import Iterable
from typing import NamedTuple

import asyncpg

from shared.contracts.envelope import Envelope, encode

COLUMNS = "topic, key, event_id, event_type, payload"


class OutboxRecord(NamedTuple):
    """An event encoded for the outbox (its topic is given when it is queued)."""

    key: str
    event_id: str
    event_type: str
    payload: bytes


def record_of(envelope: Envelope, key: str | None = None) -> OutboxRecord:
    """The outbox record of an envelope, keyed by its subject unless told otherwise."""
    return OutboxRecord(key or envelope.subject, str(envelope.id), envelope.type, encode(envelope))


def insert_sql(select: str) -> str:
    """`INSERT INTO outbox_events` of the rows `select` yields (columns as COLUMNS), for one-statement writes.

    For an adapter whose rows depend on its effect's result (queued only for what the effect changed); an event
    id already queued is not queued again.
    """
    return f"INSERT INTO outbox_events ({COLUMNS}) {select} ON CONFLICT (event_id) DO NOTHING"


async def enqueue(
    conn: asyncpg.Connection,
    topic: str,
    events: Iterable[Envelope | OutboxRecord],
    *,
    effect: tuple[str, list] | None = None,
) -> None:
    """Queue events on `topic`; call inside the transaction that makes the change they describe.

    `effect`: a data-modifying statement (SQL, parameters from $1) run in the same statement, before the
    outbox rows: the effect and its events in one round trip.
    """
    records = [e if isinstance(e, OutboxRecord) else record_of(e) for e in events]
    effect_sql, args = effect or ("", [])
    if not records and not effect_sql:
        return
    n = len(args)
    # One statement for the batch; ids (the relay's order, and so the order per key) follow the given order.
    queue = insert_sql(
        f"SELECT ${n + 1}, key, event_id, event_type, payload "  # noqa: S608 - placeholders only
        f"FROM unnest(${n + 2}::text[], ${n + 3}::text[], ${n + 4}::text[], ${n + 5}::bytea[]) WITH ORDINALITY "
        f"AS batch (key, event_id, event_type, payload, n) ORDER BY n"
    )
    sql = f"WITH effect AS ({effect_sql}) {queue}" if effect_sql else queue
    await conn.execute(
        sql,
        *args,
        topic,
        [r.key for r in records],
        [r.event_id for r in records],
        [r.event_type for r in records],
        [r.payload for r in records],
    )
