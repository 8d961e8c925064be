"""shared.runtime.background: a lifespan's background loops run for the block and are gone after it."""

import asyncio

import pytest

from shared.runtime import background

pytestmark = pytest.mark.unit


async def test_the_jobs_run_during_the_block_and_are_cancelled_and_awaited_after_it() -> None:
    started, stopped = asyncio.Event(), []

    async def loop(name: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    async with background(("a", loop("a")), ("b", loop("b"))):
        await asyncio.wait_for(started.wait(), 1)
        assert {t.get_name() for t in asyncio.all_tasks()} >= {"a", "b"}
        assert stopped == []

    assert stopped == ["a", "b"]
    assert not {t.get_name() for t in asyncio.all_tasks()} & {"a", "b"}


async def test_the_jobs_stop_also_when_the_block_fails() -> None:
    stopped = []

    async def loop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(True)

    with pytest.raises(RuntimeError):
        async with background(("loop", loop())):
            await asyncio.sleep(0)
            raise RuntimeError("the service failed to start")
    assert stopped == [True]
