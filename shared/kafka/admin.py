"""Creating the topics of DESIGN.md, their dead-letter topics and the compacted api-clients and reference-data."""

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
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
from shared.kafka.config import client_config

DAY_MS = 24 * 60 * 60 * 1000
INBOUND_RETENTION_DAYS = 7
"""Default retention of `concern-inbound` and its dead letters (`crp topics ensure --inbound-retention-days`)."""
RETENTION_MS = {
    # Raw inbound payloads hold personal details in the source systems' formats: keep them briefly.
    CONCERN_INBOUND: INBOUND_RETENTION_DAYS * DAY_MS,
    # Thin events (no personal data) are the system of record for replays and rebuilds: keep them.
    CONCERN_EVENTS: -1,
    REFERRAL_EVENTS: -1,
    NOTIFICATION_EVENTS: -1,
}
DLQ_RETENTION_MS = 30 * DAY_MS
"""Dead letters of the thin event topics; concern-inbound's dead letters are raw payloads and keep its retention."""
COMPACTED_TOPICS = (API_CLIENTS, REFERENCE_DATA)
"""Registries every service reads from the beginning: one partition, compacted, kept forever."""


def planned_topics(
    partitions: int,
    replication_factor: int,
    prefix: str = "",
    inbound_retention_ms: int = RETENTION_MS[CONCERN_INBOUND],
) -> list[NewTopic]:
    """Every topic the platform uses, with its partitions, retention and durability settings."""
    min_isr = str(min(2, replication_factor))
    retention = RETENTION_MS | {CONCERN_INBOUND: inbound_retention_ms}
    topics = []
    for topic in EVENT_TOPICS:
        dlq_retention = inbound_retention_ms if topic == CONCERN_INBOUND else DLQ_RETENTION_MS
        for name, kept in ((topic, retention[topic]), (dlq(topic), dlq_retention)):
            configs = {"min.insync.replicas": min_isr, "retention.ms": str(kept)}
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
    bootstrap_servers: str,
    partitions: int,
    replication_factor: int = 1,
    prefix: str = "",
    inbound_retention_ms: int = RETENTION_MS[CONCERN_INBOUND],
) -> list[str]:
    """Create the missing topics; returns the names created. Existing topics are left as they are, except that
    `concern-inbound` and its dead letters always get `inbound_retention_ms` (a shorter setting takes effect).

    With SASL configured (KAFKA_SECURITY_PROTOCOL) this runs as the admin principal; `crp topics ensure` then
    grants the services' and housing systems' ACLs for the prefix (shared/kafka/security.py).
    """
    planned = planned_topics(partitions, replication_factor, prefix, inbound_retention_ms)
    admin = AIOKafkaAdminClient(**client_config(bootstrap_servers, client_id="crp-admin"))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in planned if t.name not in existing]
        if missing:
            # Another `up` may create them concurrently; that is the state we want.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        inbound = {prefix + CONCERN_INBOUND, prefix + dlq(CONCERN_INBOUND)}
        kept = [t for t in planned if t.name in inbound and t.name in existing]
        if kept:  # AlterConfigs replaces the topic's settings: give it all of them
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t.name, t.topic_configs) for t in kept])
    finally:
        await admin.close()
    return [t.name for t in missing]
