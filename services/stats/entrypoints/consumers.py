"""The stats service's Faust agents: an `async for` over takes of events each, through the shared pipeline.

Every event is applied to the projections in a transaction of its own (the applier holds the projection lock and
the inbox), in order per partition, from the positions stats keeps in PostgreSQL (see shared/kafka/positions.py);
Faust acknowledges a take only once all of it is durable.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import faust

from services.stats.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from shared.contracts.envelope import Envelope, decode
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.db.positions import Positions
from shared.kafka.dead_letters import DeadLetters
from shared.kafka.pipeline import Pipeline
from shared.kafka.positions import Log, PartitionPositions
from shared.kafka.streams import StreamConsumer, raw_topic
from shared.settings import Settings

TOPICS = (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)
TAKE = 200
"""Events per take of an agent (applied one transaction each, partitions side by side)."""
TAKE_WAIT_S = 0.05
"""The longest a take waits to fill before it is applied."""


def one_by_one(
    apply_one: Callable[[Envelope[Any]], Awaitable[None]],
) -> Callable[[list[Envelope[Any]]], Awaitable[None]]:
    """A batch handler from a handler of one event (the pipeline gives it one event at a time: chunk=1)."""

    async def apply(events: list[Envelope[Any]]) -> None:
        for event in events:
            await apply_one(event)

    return apply


def projection_consumer(
    settings: Settings,
    apply_one: Callable[[Envelope[Any]], Awaitable[None]],
    dead_letters: DeadLetters,
    positions: Positions,
    log: Log,
) -> StreamConsumer:
    """The pipeline every agent of stats runs: decode, dead-letter, apply each event to the projections."""
    pipeline = Pipeline(
        consumer=settings.consumer_group,
        decoder=decode,
        apply=one_by_one(apply_one),
        handles=EVENT_HANDLERS.keys(),
        ignores=IGNORED_EVENTS,
        dead_letters=dead_letters,
        chunk=1,
    )
    return StreamConsumer(
        pipeline, PartitionPositions(settings.consumer_group, positions, log), log, per_transaction=TAKE
    )


def register_agents(app: faust.App, settings: Settings, consumer: StreamConsumer) -> list[faust.types.AgentT]:
    """Attach one agent per topic stats reads to its Faust app; returns them (concern, referral, notification)."""
    consumer.follow_rebalances(app, [settings.topic(t) for t in TOPICS])
    return [_agent(app, settings, topic, consumer) for topic in TOPICS]


def _agent(app: faust.App, settings: Settings, topic: str, consumer: StreamConsumer) -> faust.types.AgentT:
    async def agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(TAKE, within=TAKE_WAIT_S):
            await consumer.apply(events)

    return app.agent(raw_topic(app, settings.topic(topic)), name=topic)(agent)
