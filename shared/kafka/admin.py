"""Creating the topics of DESIGN.md, their dead-letter topics and the compacted api-clients and reference-data."""

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import (
    API_CLIENTS,
    CONCERN_EVENTS,
    CONCERN_INBOUND,
    EVENT_TOPICS,
    NOTIFICATION_EVENTS,
    REFERENCE_DATA,
    REFERRAL_EVENTS,
    dlq,
)

DAY_MS = 24 * 60 * 60 * 1000
RETENTION_MS = {
    # Raw inbound payloads hold personal details in the source systems' formats: keep them briefly.
    CONCERN_INBOUND: 7 * DAY_MS,
    # Thin events (no personal data) are the system of record for replays and rebuilds: keep them.
    CONCERN_EVENTS: -1,
    REFERRAL_EVENTS: -1,
    NOTIFICATION_EVENTS: -1,
}
DLQ_RETENTION_MS = 30 * DAY_MS
COMPACTED_TOPICS = (API_CLIENTS, REFERENCE_DATA)
"""Registries every service reads from the beginning: one partition, compacted, kept forever."""


def planned_topics(partitions: int, replication_factor: int, prefix: str = "") -> list[NewTopic]:
    """Every topic the platform uses, with its partitions, retention and durability settings."""
    min_isr = str(min(2, replication_factor))
    topics = []
    for topic in EVENT_TOPICS:
        for name, retention in ((topic, RETENTION_MS[topic]), (dlq(topic), DLQ_RETENTION_MS)):
            configs = {"min.insync.replicas": min_isr, "retention.ms": str(retention)}
            topics.append(NewTopic(prefix + name, partitions, replication_factor, topic_configs=configs))
    for compacted in COMPACTED_TOPICS:
        topics.append(
            NewTopic(
                prefix + compacted,
                1,
                replication_factor,
                topic_configs={"cleanup.policy": "compact", "min.insync.replicas": min_isr, "retention.ms": "-1"},
            )
        )
    return topics


async def ensure_topics(
    bootstrap_servers: str, partitions: int, replication_factor: int = 1, prefix: str = ""
) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="crp-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in planned_topics(partitions, replication_factor, prefix) if t.name not in existing]
        if missing:
            # Another `up` may create them concurrently; that is the state we want.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()
