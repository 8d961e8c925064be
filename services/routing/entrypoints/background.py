"""Periodic work every routing worker runs beside the agent: the clocks and the consumer-lag gauge."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import faust
from aiokafka.errors import KafkaError

from services.routing import metrics
from services.routing.handlers import scheduler
from services.routing.handlers.deps import Deps
from shared.logging import get_logger

log = get_logger(__name__)
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError, LookupError)


async def every(interval_s: float, work: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `work` every `interval_s` seconds until cancelled; transient failures are logged and retried."""
    while True:
        try:
            await work()
        except TRANSIENT as error:
            log.warning("periodic_failed", task=name, error=type(error).__name__)
        await asyncio.sleep(interval_s)


async def run_clocks(deps: Deps) -> None:
    """One scheduler round (reminders, escalations, open-referral gauge)."""
    reminded, escalated = await scheduler.tick(deps)
    if reminded or escalated:
        log.info("clocks_fired", reminded=reminded, escalated=escalated)


def measure_lag(app: faust.App, topic: str) -> None:
    """Consumer lag of this worker's partitions: the partition's end offset minus the committed offset."""
    consumer = app.consumer
    for tp in consumer.assignment():
        if tp.topic != topic:
            continue
        highwater = consumer.highwater(tp)
        committed = consumer._committed_offset.get(tp)  # noqa: SLF001 - Faust keeps it; no public accessor
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - (committed or 0)))


async def lag_once(app: faust.App, topic: str) -> None:
    """measure_lag, tolerant of a consumer that is (re)starting."""
    with contextlib.suppress(AttributeError, KeyError, RuntimeError):
        measure_lag(app, topic)


@contextlib.asynccontextmanager
async def background(*jobs: tuple[str, Awaitable[None]]) -> AsyncIterator[None]:
    """Run named coroutines as tasks for the duration of the block; cancel them on exit."""
    tasks = [asyncio.create_task(job, name=name) for name, job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
