"""`crp topics ensure` against the real broker: every topic of DESIGN.md, configured, and idempotent."""

import uuid

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts.topics import (
    API_CLIENTS,
    CONCERN_EVENTS,
    CONCERN_INBOUND,
    EVENT_TOPICS,
    REFERENCE_DATA,
    REFERRAL_EVENTS,
    dlq,
)
from shared.kafka.admin import ensure_topics
from shared.kafka.config import client_config, partitions_of
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def test_topics_are_created_once_with_partitions_retention_and_compaction(kafka_bootstrap: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    created = await ensure_topics(kafka_bootstrap, partitions=4, prefix=prefix)
    compacted = {prefix + API_CLIENTS, prefix + REFERENCE_DATA}
    expected = {prefix + t for t in EVENT_TOPICS} | {prefix + dlq(t) for t in EVENT_TOPICS} | compacted
    assert set(created) == expected
    assert await ensure_topics(kafka_bootstrap, partitions=4, prefix=prefix) == []  # running twice is harmless

    admin = AIOKafkaAdminClient(**client_config(kafka_bootstrap))
    await admin.start()
    try:
        described = {
            t["topic"]: t for t in await admin.describe_topics([prefix + CONCERN_EVENTS, prefix + API_CLIENTS])
        }
        assert len(described[prefix + CONCERN_EVENTS]["partitions"]) == 4
        assert len(described[prefix + API_CLIENTS]["partitions"]) == 1
        names = (prefix + CONCERN_EVENTS, prefix + CONCERN_INBOUND, prefix + API_CLIENTS, prefix + REFERENCE_DATA)
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
        configs = {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}
            for response in responses
            for resource in response.resources
        }
    finally:
        await admin.close()
    assert configs[prefix + CONCERN_EVENTS]["retention.ms"] == "-1"
    assert configs[prefix + CONCERN_INBOUND]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert configs[prefix + API_CLIENTS]["cleanup.policy"] == "compact"
    assert configs[prefix + REFERENCE_DATA]["cleanup.policy"] == "compact"


async def test_partitions_of_several_topics_in_one_request_in_the_order_asked_leaving_out_unknown_ones(
    kafka_bootstrap: str,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=3, prefix=prefix)
    admin = AIOKafkaAdminClient(**client_config(kafka_bootstrap))
    await admin.start()
    try:
        asked = (prefix + REFERRAL_EVENTS, prefix + "no-such-topic", prefix + API_CLIENTS)

        async def visible() -> bool:  # a new topic reaches the broker's metadata a moment after its creation
            return len(await partitions_of(admin, prefix + REFERRAL_EVENTS, prefix + API_CLIENTS)) == 4

        await eventually(visible, within=10, what="the new topics in the broker's metadata")
        expected = [TopicPartition(prefix + REFERRAL_EVENTS, p) for p in range(3)] + [
            TopicPartition(prefix + API_CLIENTS, 0)
        ]
        assert await partitions_of(admin, *asked) == expected
        assert await partitions_of(kafka_bootstrap, *asked) == expected  # a short-lived admin client of its own
        assert await partitions_of(admin, prefix + "no-such-topic") == []
        assert await partitions_of(kafka_bootstrap) == []
        assert prefix + "no-such-topic" not in await admin.list_topics()  # asking did not create it
    finally:
        await admin.close()
