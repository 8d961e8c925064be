"""The stats service's Faust agents: a few lines of `async for` each, bad events dead-lettered."""

import faust

from services.stats.adapters.applier import ProjectionApplier
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka.processing import EventProcessor
from shared.kafka.streams import process_stream, raw_topic
from shared.runtime import Runtime


def register_agents(app: faust.App, runtime: Runtime) -> None:
    """Attach this service's agents to its Faust app: each event applied once to the projections."""
    processor = EventProcessor(
        consumer=runtime.settings.consumer_group,
        decoder=decode,
        handler=ProjectionApplier(runtime.pool, runtime.settings.consumer_group),
        dead_letters=runtime.dead_letters,
    )

    @app.agent(raw_topic(app, runtime.settings.topic(CONCERN_EVENTS)), name="concern-events")
    async def concern_events(stream: faust.StreamT) -> None:
        await process_stream(stream, processor)

    @app.agent(raw_topic(app, runtime.settings.topic(REFERRAL_EVENTS)), name="referral-events")
    async def referral_events(stream: faust.StreamT) -> None:
        await process_stream(stream, processor)

    @app.agent(raw_topic(app, runtime.settings.topic(NOTIFICATION_EVENTS)), name="notification-events")
    async def notification_events(stream: faust.StreamT) -> None:
        await process_stream(stream, processor)
