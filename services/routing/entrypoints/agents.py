"""The routing service's Faust agent: batches of concern events in, referrals out (via the outbox)."""

import asyncio
import contextlib
import functools
import time

import faust

from services.routing import metrics
from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.entrypoints.batching import ApplyBatch, BatchProcessor
from services.routing.handlers import EVENT_HANDLERS, IGNORED_EVENTS
from services.routing.handlers.deps import Deps
from services.routing.settings import RoutingSettings
from shared.contracts.topics import CONCERN_EVENTS
from shared.kafka.dead_letters import DeadLetters, RawMessage
from shared.kafka.streams import raw_topic

_TICK_S = 0.005  # how often a partial batch looks for more events
_QUEUED_BATCHES = 8
"""Events a partition's batch task may have waiting, in batches. The agent loop feeds every partition's task and
waits when one's queue is full; Faust hands events over in runs of a thousand or more per partition, so with
room for only two batches one busy partition held back the others (their tasks waited for events while its
queue was full: routing bench about 6% slower)."""


def raw_message(event: faust.EventT) -> RawMessage:
    """The parts of a Faust event the processor and dead letters need."""
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=event.value,
        headers=tuple(message.headers) if message.headers else (),
    )


def repeat_windows_table(app: faust.App, settings: RoutingSettings) -> faust.Table:
    """The repeat-windows table: subject key -> that subject's concerns of the last 90 days (a `Window`).

    Co-partitioned with concern-events (same key, same partition count), so it holds the windows of the subjects
    whose events this worker consumes. Written through its store, not `table[key] = ...`: no changelog, so a
    rebalance never waits for a changelog recovery; PostgreSQL is where a window survives a worker.
    """
    return app.Table(
        "repeat-windows",  # the (empty) changelog topic is <app id>-repeat-windows-changelog; the id carries the prefix
        key_type=str,
        partitions=settings.topic_partitions,
        help="Each subject's concerns of the last 90 days (the repeat rule's fast path).",
    )


def forget_on_rebalance(app: faust.App, windows: RepeatWindows) -> None:
    """Empty the table whenever partitions move: another worker may have routed those subjects meanwhile."""

    async def forget(_sender: object, *_args: object, **_kwargs: object) -> None:
        windows.forget_all()

    app.on_partitions_revoked.connect(forget)
    app.on_partitions_assigned.connect(forget)


def register_agents(
    app: faust.App,
    settings: RoutingSettings,
    deps: Deps | None,
    dead_letters: DeadLetters,
    apply: ApplyBatch | None = None,
) -> faust.types.AgentT:
    """Attach the concern-events agent to the Faust app and return it.

    With `deps`, the repeat-windows table is created and given to the handler (`deps.windows`) as the fast path
    of the repeat rule; PostgreSQL stays its durable truth (see adapters/repeat_windows.py).

    `apply` replaces the handler (unit tests give a fake); by default it is the batch handler with `deps`.
    """
    handler = EVENT_HANDLERS[next(iter(EVENT_HANDLERS))]
    if deps is not None:
        deps.windows = RepeatWindows(repeat_windows_table(app, settings), max_subjects=settings.repeat_window_subjects)
        forget_on_rebalance(app, deps.windows)
    processor = BatchProcessor(
        consumer=settings.consumer_group,
        apply=apply or functools.partial(handler, deps),
        handled=frozenset(EVENT_HANDLERS) | IGNORED_EVENTS,
        dead_letters=dead_letters,
    )

    @app.agent(raw_topic(app, settings.topic(CONCERN_EVENTS)), name="concern-events")
    async def concern_events(stream: faust.StreamT) -> None:
        # Acks are ours: an event is acknowledged (its offset committable) only once its batch is durable.
        # The agent loop only buffers; per partition, a batch task applies whatever has arrived meanwhile, in
        # order. Partitions apply side by side (a key, and so a subject's repeat window, lives in one partition).
        # (Faust's own take_events can ack events it never yielded when its timeout races a full buffer.)
        manual = stream.noack()
        appliers: dict[int, tuple[asyncio.Queue, asyncio.Task]] = {}

        def applier_of(partition: int) -> tuple[asyncio.Queue, asyncio.Task]:
            if partition not in appliers:
                queue: asyncio.Queue[faust.EventT] = asyncio.Queue(_QUEUED_BATCHES * settings.consume_batch_size)
                task = asyncio.create_task(_apply_batches(queue, settings, processor, manual))
                appliers[partition] = (queue, task)
            return appliers[partition]

        try:
            async for event in manual.events():
                queue, applier = applier_of(event.message.partition)
                if applier.done():
                    applier.result()  # surface the failure: Faust restarts the agent
                await queue.put(event)
            for queue, _ in appliers.values():
                await queue.join()
        finally:
            for _, applier in appliers.values():
                applier.cancel()
            for _, applier in appliers.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await applier

    return concern_events


async def _apply_batches(
    buffered: asyncio.Queue, settings: RoutingSettings, processor: BatchProcessor, stream: faust.StreamT
) -> None:
    """Take a batch of what arrives after the first event (see `_fill`), apply it, then ack it; forever."""
    size, wait_s, idle_s = settings.consume_batch_size, settings.consume_batch_wait_s, settings.consume_batch_idle_s
    while True:
        batch = [await buffered.get()]
        await _fill(buffered, batch, size, wait_s, idle_s)
        metrics.BATCH_SIZE.observe(len(batch))
        await processor.process([raw_message(e) for e in batch])
        for event in batch:
            await stream.ack(event)
            buffered.task_done()


async def _fill(buffered: asyncio.Queue, batch: list, size: int, wait_s: float, idle_s: float) -> None:
    """Add what arrives to `batch` until it is full, `wait_s` passed, or nothing arrived for `idle_s`.

    Faust hands events over one at a time, so without a short wait most batches would hold a few events and
    each pay a transaction (and the relay a Kafka transaction): under load the per-batch work then eats the
    time that would feed the next batch. While events keep coming a batch grows to `size` (or `wait_s`); a
    pause of `idle_s` ends it early, so a lone concern is not held for the full wait. Polled with get_nowait
    (no wait_for around get: a timeout racing a delivery could lose an event that is then never acknowledged).
    """
    now = time.monotonic()
    deadline, quiet_until = now + wait_s, now + idle_s
    while True:
        if not buffered.empty():
            while len(batch) < size and not buffered.empty():
                batch.append(buffered.get_nowait())
            quiet_until = time.monotonic() + idle_s
        now = time.monotonic()
        if len(batch) >= size or now >= deadline or now >= quiet_until:
            return
        await asyncio.sleep(_TICK_S)
