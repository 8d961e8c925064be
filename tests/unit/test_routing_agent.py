"""The concern-events agent under Faust's test_context: applied in order, garbage dead-lettered, windows kept."""

import asyncio
from datetime import UTC, datetime

import faust
import pytest

from services.routing.entrypoints.agents import register_agents
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import encode
from shared.kafka.dead_letters import InMemoryDeadLetters
from tests.support.polling import eventually
from tests.support.routing_events import HOENG, HOLBAEK, concern_event

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


async def test_a_partition_with_several_batches_waiting_does_not_hold_back_the_others(settings) -> None:
    # Faust hands over long runs of one partition's events: the agent loop must not stop feeding the other
    # partitions while one partition's batch task is busy and a few batches are queued behind it.
    settings = settings.model_copy(update={"consume_batch_size": 10, "consume_batch_wait_s": 0.05})
    app = faust.App("routing-unit-hol", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    busy, applied = asyncio.Event(), []

    async def apply(events):
        if any(e.data.department_id == "holbaek-1" for e in events):
            await busy.wait()  # partition 0's task is stuck in a long transaction
        applied.extend(e.data.concern_id for e in events)
        return {}

    agent = register_agents(app, settings, None, InMemoryDeadLetters(), apply=apply)
    async with agent.test_context() as running:
        other = concern_event(place=HOENG)

        async def other_applied() -> bool:
            return other.data.concern_id in applied

        try:
            # The test context's put returns once the agent loop has taken the event: a loop stuck on partition
            # 0's full queue would stop it.
            async with asyncio.timeout(10):
                for _ in range(50):  # one batch being applied and four queued behind it
                    event = concern_event(place=HOLBAEK)
                    await running.put(encode(event), key=event.subject.encode(), partition=0)
                await running.put(encode(other), key=other.subject.encode(), partition=1)
            await eventually(other_applied, within=5, what="partition 1's event applied while partition 0 is busy")
        finally:
            busy.set()

        async def all_applied() -> bool:
            return len(applied) == 51

        await eventually(all_applied, within=10, what="partition 0's events applied once it is free")
