"""`concern-inbound` and its dead letters keep raw payloads briefly: 7 days by default, configurable, on the broker."""

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from shared.cli import app
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND, dlq
from shared.kafka.admin import DAY_MS, ensure_topics
from shared.kafka.config import client_config
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def _retention(bootstrap: str, *topics: str, key: str = "retention.ms") -> dict[str, str]:
    """`key` (retention.ms) of each topic, as the broker describes it."""
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    configs = {r[3]: {e[0]: e[1] for e in r[4]} for response in responses for r in response.resources}
    return {topic: configs[topic][key] for topic in topics}


async def test_concern_inbound_and_its_dead_letters_keep_seven_days_by_default(kafka_bootstrap: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=1, prefix=prefix)
    inbound, letters, events = prefix + CONCERN_INBOUND, prefix + dlq(CONCERN_INBOUND), prefix + dlq(CONCERN_EVENTS)
    assert await _retention(kafka_bootstrap, inbound, letters, events) == {
        inbound: str(7 * DAY_MS),
        letters: str(7 * DAY_MS),  # the dead letters are the same raw payloads (was 30 days)
        events: str(30 * DAY_MS),  # thin events' dead letters keep theirs
    }


def test_crp_topics_ensure_sets_the_configured_retention_on_existing_topics_too(kafka_bootstrap: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    runner = CliRunner()
    args = ["topics", "ensure", "--bootstrap", kafka_bootstrap, "--partitions", "1", "--prefix", prefix]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, args, env={"CONCERN_INBOUND_RETENTION_DAYS": "2"})
    assert result.exit_code == 0, result.output
    inbound, letters = prefix + CONCERN_INBOUND, prefix + dlq(CONCERN_INBOUND)
    expected = {inbound: str(2 * DAY_MS), letters: str(2 * DAY_MS), prefix + CONCERN_EVENTS: "-1"}

    async def applied() -> bool:  # the broker applies a change from its metadata log a moment after the answer
        return await _retention(kafka_bootstrap, *expected) == expected

    asyncio.run(eventually(applied, within=10, what="the shorter retention on the broker"))
    # AlterConfigs replaces a topic's settings: the others were given again, not reset to the broker's defaults
    assert asyncio.run(_retention(kafka_bootstrap, inbound, key="min.insync.replicas")) == {inbound: "1"}
