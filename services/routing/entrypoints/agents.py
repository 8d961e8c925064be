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
        "repeat-windows",  # changelog: <app id>-repeat-windows-changelog; the app id carries the topic prefix
        default=list,
        key_type=str,
        partitions=settings.topic_partitions,
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
        # Acks are ours: an event is acknowledged (and its offset committable) only once its batch is
        # durable. (Faust's take_events can ack events it never yielded when a timeout races a full buffer.)
        manual = stream.noack()
        pending: list[faust.EventT] = []
        async for event in manual.events():
            pending.append(event)
            if len(pending) < settings.consume_batch_size and not _drained(manual):
                continue  # more are waiting: take them into this batch
            await _apply(processor, windows, pending, manual)
            for done in pending:
                await manual.ack(done)
            pending = []

    return concern_events, windows


def _drained(stream: faust.StreamT) -> bool:
    """True when no further event waits in the agent's buffer (then a partial batch goes at once)."""
    try:
        return stream.channel.queue.empty()
    except AttributeError:
        return True


async def _apply(
    processor: BatchProcessor, windows: faust.Table, events: list[faust.EventT], stream: faust.StreamT
) -> None:
    """Apply a batch; then write each touched subject's window to its event's changelog partition."""
    found: dict[str, list[datetime]] = {}
    for result in await processor.process([raw_message(e) for e in events]):
        found.update(result)
    for event in events:
        key = (event.message.key or b"").decode(errors="replace")
        if key in found:
            stream._set_current_event(event)  # noqa: SLF001 - the table takes the partition from it
            remember(windows, key, found.pop(key))


def remember(windows: faust.Table, key: str, times: list[datetime]) -> None:
    """Write a subject's current window to the table (an empty window removes the subject)."""
    if times:
        windows[key] = [t.isoformat() for t in times]
    elif key in windows:
        del windows[key]
