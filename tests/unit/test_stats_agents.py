"""Stats' three agents under Faust's test_context: each event applied once, in order,
an unknown one dead-lettered, positions saved per topic."""

import faust
import pytest

from services.stats.entrypoints.consumers import TOPICS, projection_consumer, register_agents
from services.stats.settings import StatsSettings
from shared.contracts.envelope import encode
from shared.contracts.examples import example_events
from shared.db.positions import InMemoryPositions
from shared.kafka.dead_letters import InMemoryDeadLetters
from shared.kafka.positions import InMemoryLog
from tests.support.polling import eventually

pytestmark = pytest.mark.unit


def _settings() -> StatsSettings:
    return StatsSettings(database_url="postgresql://u:p@127.0.0.1:1/db", subject_key_secret="s" * 16, topic_prefix="u.")


async def test_each_agent_applies_its_topic_s_events_one_at_a_time_and_saves_its_position() -> None:
    settings, applied, letters, positions = _settings(), [], InMemoryDeadLetters(), InMemoryPositions()

    async def apply_one(event) -> None:  # noqa: ANN001
        applied.append(event.id)

    app = faust.App("stats-unit", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    consumer = projection_consumer(settings, apply_one, letters, positions, InMemoryLog())
    agents = register_agents(app, settings, consumer)
    assert [a.name for a in agents] == list(TOPICS)
    events = example_events(seed="stats-agents")[:3]
    unknown = events[0].model_copy(update={"type": "concern.unknown.v9", "id": "unknown-1"})
    async with agents[0].test_context() as running:
        for event in (*events, unknown):
            await running.put(encode(event), key=b"k")

        async def done() -> bool:
            return positions.stored.get(("stats-service", "u.concern-events", 0)) == 4

        await eventually(done, within=10, what="the take applied and the position saved")
    assert applied == [e.id for e in events]
    assert [message.offset for message, _, _ in letters.letters] == [3]
