"""The transactional outbox every service publishes through: `enqueue` in the change's transaction, one relay.

Handlers call `enqueue(conn, topic, events)` (records.py); the service's bootstrap runs `relay_for(...)`.
"""

from collections.abc import Mapping

from shared.outbox.kafka import kafka_sender
from shared.outbox.postgres import PostgresOutbox
from shared.outbox.records import OutboxRecord, enqueue, insert_sql, record_of
from shared.outbox.relay import OutboxRelay

__all__ = ["OutboxRecord", "OutboxRelay", "enqueue", "insert_sql", "record_of", "relay_for"]


def relay_for(
    service: str, *, database_url: str, bootstrap_servers: str, topics: Mapping[str, str], **options: float
) -> OutboxRelay:
    """The relay of `service`'s outbox; `topics` maps the contract topic names it stores to physical ones."""
    return OutboxRelay(
        PostgresOutbox(database_url, service),
        lambda: kafka_sender(bootstrap_servers, f"{service}-outbox-relay", topics),
        service=service,
        **options,  # type: ignore[arg-type]
    )
