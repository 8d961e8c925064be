"""The concern-events agent under Faust's test_context: applied in order, garbage dead-lettered, windows kept."""

from datetime import UTC, datetime

import faust
import pytest

from services.routing.entrypoints.agents import register_agents
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import encode
from shared.kafka.dead_letters import InMemoryDeadLetters
from tests.support.polling import eventually
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.unit


@pytest.fixture
def settings() -> RoutingSettings:
    return RoutingSettings(
        database_url="postgresql://unused/unused", subject_key_secret="unit-test-secret-0123456789", topic_prefix="u."
    )


async def test_agent_applies_events_in_order_and_dead_letters_garbage(settings) -> None:
    app = faust.App("routing-unit", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    applied: list[str] = []
    when = datetime(2025, 3, 4, 9, tzinfo=UTC)

    async def apply(events):
        applied.extend(e.data.concern_id for e in events)
        return {e.subject: [when] for e in events}

    letters = InMemoryDeadLetters()
    agent = register_agents(app, settings, None, letters, apply=apply)
    first, second = concern_event(), concern_event(categories=("loneliness",))
    async with agent.test_context() as running:
        await running.put(encode(first), key=first.subject.encode())
        await running.put(b"{not json", key=b"k")
        await running.put(encode(second), key=second.subject.encode())
        await running.put(encode(first), key=first.subject.encode())

        async def all_applied() -> bool:
            return len(applied) == 3

        # The applier waits briefly (consume_batch_wait_s) for a batch to fill before it applies it.
        await eventually(all_applied, within=10, what="the batch applied")
    assert applied == [first.data.concern_id, second.data.concern_id, first.data.concern_id]
    assert [reason for _, reason, _ in letters.letters] == ["invalid_json"]
