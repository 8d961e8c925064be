"""The concern-events agent under Faust's test_context: applied in order from the durable position, holes read
back from the log, garbage dead-lettered, partitions side by side; the handler table takes a mixed batch at once."""

import asyncio
from datetime import UTC, datetime

import faust
import pytest

from services.routing.entrypoints.consumers import concern_consumer, register_agents
from services.routing.handlers import EVENT_HANDLERS, bind
from services.routing.handlers.concerns import apply_concern_events
from services.routing.settings import RoutingSettings
from shared.contracts.concerns import ConcernErased, ConcernReported
from shared.contracts.envelope import encode
from shared.db.positions import InMemoryPositions
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.positions import InMemoryLog
from tests.support.polling import eventually
from tests.support.routing_events import HOENG, HOLBAEK, concern_event

pytestmark = pytest.mark.unit
TOPIC = "u.concern-events"
WHEN = datetime(2025, 3, 4, 9, tzinfo=UTC)


@pytest.fixture
def settings() -> RoutingSettings:
    return RoutingSettings(
        database_url="postgresql://unused/unused", subject_key_secret="unit-test-secret-0123456789", topic_prefix="u."
    )


class Recorder:
    """A stand-in for the handler table's entry: records each batch it is given (concern ids)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    @property
    def applied(self) -> list[str]:
        return [concern for batch in self.batches for concern in batch]

    async def __call__(self, events: list) -> dict:
        self.batches.append([e.data.concern_id for e in events])
        return {e.subject: [WHEN] for e in events}


def agent_of(name: str, settings: RoutingSettings, apply, positions=None, log=None, letters=None):  # noqa: ANN001, ANN201
    app = faust.App(name, broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)
    consumer = concern_consumer(
        settings, None, letters or InMemoryDeadLetters(), positions or InMemoryPositions(), log or InMemoryLog(), apply
    )
    return register_agents(app, settings, None, consumer)


async def test_events_are_applied_in_order_garbage_dead_lettered_and_the_position_saved(settings) -> None:
    recorder, letters, positions = Recorder(), InMemoryDeadLetters(), InMemoryPositions()
    agent = agent_of("routing-unit", settings, recorder, positions, letters=letters)
    first, second = concern_event(), concern_event(categories=("loneliness",))
    async with agent.test_context() as running:
        await running.put(encode(first), key=first.subject.encode())
        await running.put(b"{not json", key=b"k")
        await running.put(encode(second), key=second.subject.encode())
        await running.put(encode(first), key=first.subject.encode())  # redelivered under a new offset

        async def all_done() -> bool:
            return positions.stored.get(("routing-service", TOPIC, 0)) == 4

        await eventually(all_done, within=10, what="the take applied and its position saved")
    assert recorder.applied == [first.data.concern_id, second.data.concern_id, first.data.concern_id]
    assert [reason for _, reason, _ in letters.letters] == ["invalid_json"]


async def test_events_below_the_stored_position_are_not_applied_again(settings) -> None:
    # Another worker applied offsets 0-1 and saved the position; Faust's committed offset lagged behind.
    recorder, positions = Recorder(), InMemoryPositions()
    await positions.save("routing-service", {(TOPIC, 0): 2})
    agent = agent_of("routing-unit-below", settings, recorder, positions)
    events = [concern_event() for _ in range(3)]
    async with agent.test_context() as running:
        for event in events:
            await running.put(encode(event), key=event.subject.encode())

        async def applied() -> bool:
            return positions.stored[("routing-service", TOPIC, 0)] == 3

        await eventually(applied, within=10, what="the event past the position applied")
    assert recorder.applied == [events[2].data.concern_id]


async def test_an_event_faust_never_delivered_is_read_back_from_the_log_and_applied_in_its_place(settings) -> None:
    # Faust skipped offset 1 (acked during a rebalance, or dropped below a stale read offset): the agent sees 0, 2.
    recorder, log, positions = Recorder(), InMemoryLog(), InMemoryPositions()
    agent = agent_of("routing-unit-hole", settings, recorder, positions, log)
    events = [concern_event() for _ in range(3)]
    for offset, event in enumerate(events):  # the partition's log holds all three
        log.append(RawMessage(TOPIC, 0, offset, event.subject.encode(), encode(event)))
    async with agent.test_context() as running:
        await running.put(encode(events[0]), key=events[0].subject.encode())
        running.sent_offset += 1  # offset 1 is in the log, but never reaches the agent
        await running.put(encode(events[2]), key=events[2].subject.encode())

        async def applied() -> bool:
            return positions.stored.get(("routing-service", TOPIC, 0)) == 3

        await eventually(applied, within=10, what="all three applied")
    assert recorder.applied == [e.data.concern_id for e in events]
    assert ((TOPIC, 0), 1, 2) in log.reads


async def test_a_slow_partition_does_not_hold_back_the_other_partitions_of_its_take(settings) -> None:
    busy, recorder = asyncio.Event(), Recorder()

    async def apply(events: list) -> dict:
        if any(e.data.department_id == "holbaek-1" for e in events):
            await busy.wait()  # partition 0's transaction is slow
        return await recorder(events)

    agent = agent_of("routing-unit-side", settings, apply)
    slow, other = concern_event(place=HOLBAEK), concern_event(place=HOENG)
    async with agent.test_context() as running:
        try:
            await running.put(encode(slow), key=slow.subject.encode(), partition=0)
            await running.put(encode(other), key=other.subject.encode(), partition=1)

            async def other_applied() -> bool:
                return other.data.concern_id in recorder.applied

            await eventually(other_applied, within=5, what="partition 1 applied while partition 0 is busy")
        finally:
            busy.set()

        async def both() -> bool:
            return slow.data.concern_id in recorder.applied

        await eventually(both, within=5, what="partition 0 applied once it is free")


async def test_a_partition_s_events_go_to_the_handler_in_batches_of_consume_batch_size(settings) -> None:
    settings = settings.model_copy(update={"consume_batch_size": 2, "topic_partitions": 1, "consume_batch_wait_s": 1})
    recorder = Recorder()
    agent = agent_of("routing-unit-size", settings, recorder)
    events = [concern_event() for _ in range(2)]
    async with agent.test_context() as running:
        for event in events:  # a full take (2 x 1 partition): applied without waiting for the second
            await running.put(encode(event), key=event.subject.encode(), wait=False)

        async def applied() -> bool:
            return len(recorder.applied) == 2

        await eventually(applied, within=5, what="the full take applied")
    assert recorder.batches == [[e.data.concern_id for e in events]]


def test_the_handler_table_names_one_handler_for_reports_and_erasures_so_a_mixed_batch_is_one_call() -> None:
    table = bind(None)
    assert set(table) == set(EVENT_HANDLERS) == {ConcernReported.event_type, ConcernErased.event_type}
    assert table[ConcernReported.event_type] is table[ConcernErased.event_type]
    assert table[ConcernReported.event_type].func is apply_concern_events
