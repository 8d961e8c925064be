"""The Faust app every worker service builds: its consumer must not stall a flood (see shared/kafka/streams.py)."""

import asyncio
import inspect
import re

import mode
import pytest
from faust.transport import consumer as faust_consumer

from services.stats.settings import StatsSettings
from shared.kafka.streams import QuickDelivery, make_stream_app

pytestmark = pytest.mark.unit


def _settings(**overrides: object) -> StatsSettings:
    return StatsSettings(
        database_url="postgresql://u:p@127.0.0.1:1/db",
        subject_key_secret="s" * 16,
        kafka_bootstrap_servers="127.0.0.1:1",
        **overrides,
    )


async def test_the_agent_consumer_long_polls_for_a_tenth_of_a_second_not_faust_s_one_and_a_half() -> None:
    # A fetch sent while the agent works through fetched records asks only for the empty assignor and changelog
    # topics; every partition that runs dry meanwhile waits for it to come back.
    app = make_stream_app(_settings())
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 100
        assert consumer._group_id == app.conf.id  # still Faust's own worker consumer, only the long-poll changed
    finally:
        await consumer.stop()


async def test_the_agent_buffer_holds_seconds_of_work_and_follows_the_setting() -> None:
    # Faust stops fetching at 80% of the buffer and, with every partition stopped, looks again only after 1 s.
    assert make_stream_app(_settings()).conf.stream_buffer_maxsize == 16384
    assert make_stream_app(_settings(stream_buffer_maxsize=1000)).conf.stream_buffer_maxsize == 1000


class _Service(QuickDelivery, mode.Service):
    """A mode service with the consumer's flow event, to drive QuickDelivery.wait_first as Faust's drain does."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


async def test_a_delivery_that_need_not_wait_runs_in_the_draining_task_without_a_task_of_its_own() -> None:
    service, ran_in = _Service(), []

    async def deliver() -> str:
        ran_in.append(asyncio.current_task())
        return "delivered"

    results = await service.wait_first(deliver(), service.suspend_flow.wait())
    assert ran_in == [asyncio.current_task()]  # Faust's own wait_first runs it in a new task
    assert results.results == ["delivered"] and not results.stopped


async def test_a_delivery_that_waits_finishes_once_its_buffer_has_room() -> None:
    service, room, steps = _Service(), asyncio.Event(), []

    async def deliver() -> str:
        steps.append("full")
        await room.wait()
        await asyncio.sleep(0)  # a bare yield on the way
        steps.append("put")
        return "delivered"

    waiting = asyncio.create_task(service.wait_first(deliver(), service.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["full"] and not waiting.done()
    room.set()
    results = await asyncio.wait_for(waiting, 1)
    assert steps == ["full", "put"] and results.results == ["delivered"]


async def test_a_suspended_flow_abandons_a_waiting_delivery_as_faust_does() -> None:
    service, cleaned = _Service(), []

    async def deliver() -> None:
        try:
            await asyncio.Event().wait()  # a buffer that never drains
        finally:
            cleaned.append(True)

    waiting = asyncio.create_task(service.wait_first(deliver(), service.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    service.suspend_flow.set()
    results = await asyncio.wait_for(waiting, 1)
    assert results.results == [True]  # the flow's wait won
    await asyncio.sleep(0)
    assert cleaned == [True]  # the delivery was cancelled, its cleanup ran


async def test_with_the_flow_suspended_already_or_other_waits_it_is_faust_s_own_wait_first() -> None:
    service, ran_in = _Service(), []

    async def deliver() -> None:
        ran_in.append(asyncio.current_task())

    service.suspend_flow.set()
    await service.wait_first(deliver(), service.suspend_flow.wait())
    other = asyncio.Event()
    other.set()
    service.suspend_flow.clear()
    await service.wait_first(deliver(), other.wait())
    assert asyncio.current_task() not in ran_in and len(ran_in) == 2


def test_the_worker_consumer_delivers_quickly_and_faust_still_delivers_the_way_it_expects() -> None:
    consumer = make_stream_app(_settings()).consumer
    assert isinstance(consumer, QuickDelivery)
    assert isinstance(consumer.suspend_flow, asyncio.Event)
    # The call QuickDelivery recognises; a Faust upgrade that changes it leaves messages on Faust's slow path.
    drain = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert re.search(r"self\.wait_first\(\s*callback\(message\), self\.suspend_flow\.wait\(\)\s*\)", drain)
