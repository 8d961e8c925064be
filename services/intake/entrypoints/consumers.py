"""The intake service's Kafka consumers: concern-inbound (raw) and referral-events (CloudEvents).

Each is an entry of the handler table's CONSUMERS, run through the shared pipeline one event at a time: intake's
handlers apply each event in a transaction of its own, so a retry or a refusal touches that event alone.
"""

import contextlib
from collections.abc import AsyncIterator

from services.intake.handlers import CONSUMERS, bind
from services.intake.handlers.deps import Deps
from shared.kafka.pipeline import Pipeline, consuming, dispatch
from shared.runtime import Runtime


def pipeline(runtime: Runtime, deps: Deps, topic: str) -> Pipeline:
    """The pipeline of the consumer of logical `topic`, its handler-table entry bound to `deps`."""
    entry = CONSUMERS[topic]
    return Pipeline(
        consumer=runtime.settings.consumer_group + entry.group_suffix,
        decoder=entry.decoder,
        apply=dispatch(bind(deps)),
        handles=entry.handles,
        ignores=entry.ignores,
        dead_letters=runtime.dead_letters,
        chunk=1,
    )


@contextlib.asynccontextmanager
async def consuming_all(runtime: Runtime, deps: Deps) -> AsyncIterator[None]:
    """Run every consumer of CONSUMERS for the duration of the block (the service's lifespan)."""
    settings = runtime.settings
    async with contextlib.AsyncExitStack() as stack:
        for topic in CONSUMERS:
            each = pipeline(runtime, deps, topic)
            group = settings.kafka_group(each.consumer)
            await stack.enter_async_context(
                consuming(settings.kafka_bootstrap_servers, group, [settings.topic(topic)], each)
            )
        yield
