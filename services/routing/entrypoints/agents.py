"""The routing service's Faust agent: batches of concern events in, referrals out (via the outbox)."""

import functools
from datetime import datetime

import faust

from services.routing.entrypoints.batching import ApplyBatch, BatchProcessor
from services.routing.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from services.routing.handlers.deps import Deps
from services.routing.settings import RoutingSettings
from shared.contracts.topics import CONCERN_EVENTS
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.streams import raw_topic


def raw_message(event: faust.EventT) -> RawMessage:
    """The parts of a Faust event the processor and dead letters need."""
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=event.value,
        headers=tuple((k, v) for k, v in (message.headers or ())),
    )


def repeat_windows_table(app: faust.App, settings: RoutingSettings) -> faust.Table:
    """Each subject's concern times of the last 90 days, kept by the agent (changelog: recoverable).

    The decision itself is read from PostgreSQL in the transaction that writes the referrals (the
    memory store and its changelog are not transactional with it); this table is the stream-side view.
    """
    return app.Table(
        f"{settings.topic_prefix}repeat-windows",
        default=list,
        key_type=str,
        partitions=settings.topic_partitions,
        use_partitioner=True,  # partition by key, as the producers of concern-events do
    )


def register_agents(
    app: faust.App,
    settings: RoutingSettings,
    deps: Deps | None,
    dead_letters: DeadLetters,
    apply: ApplyBatch | None = None,
) -> tuple[faust.types.AgentT, faust.Table]:
    """Attach the concern-events agent to the Faust app; returns it and the repeat-windows table.

    `apply` replaces the handler (unit tests give a fake); by default it is the batch handler with `deps`.
    """
    handler = EVENT_HANDLERS[next(iter(EVENT_HANDLERS))]
    processor = BatchProcessor(
        consumer=settings.consumer_group,
        apply=apply or functools.partial(handler, deps),
        handled=frozenset(EVENT_HANDLERS) | IGNORED_EVENTS,
        dead_letters=dead_letters,
    )
    windows = repeat_windows_table(app, settings)

    @app.agent(raw_topic(app, settings.topic(CONCERN_EVENTS)), name="concern-events")
    async def concern_events(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.consume_batch_size, settings.consume_batch_wait_s):
            for found in await processor.process([raw_message(e) for e in events]):
                remember(windows, found)

    return concern_events, windows


def remember(windows: faust.Table, found: dict[str, list[datetime]]) -> None:
    """Write the subjects' current windows to the table (an empty window removes the subject)."""
    for key, times in found.items():
        if times:
            windows[key] = [t.isoformat() for t in times]
        elif key in windows:
            del windows[key]
