"""Writing to the transactional outbox: an event commits together with the change it describes."""

import asyncpg

from shared.contracts.envelope import Envelope, encode


def outbox_values(envelope: Envelope, topic: str) -> tuple[str, str, str, str, bytes]:
    """The outbox columns of an event: id, logical topic, key (the subject), type, encoded envelope."""
    return (envelope.id, topic, envelope.subject, envelope.type, encode(envelope))


async def add_to_outbox(conn: asyncpg.Connection, envelope: Envelope, topic: str) -> None:
    """Record an event for the relay; call inside the transaction that makes the change."""
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, kafka_key, event_type, envelope) VALUES ($1, $2, $3, $4, $5)",
        *outbox_values(envelope, topic),
    )
