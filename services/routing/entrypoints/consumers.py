"""The routing service's Faust agent: takes of concern events in, referrals out (via the outbox).

The agent is an `async for` over Faust's `take_events`; each take goes through the shared pipeline, partition by
partition (side by side), from the positions routing keeps in PostgreSQL (see shared/kafka/positions.py): one
transaction per partition's batch, and Faust acknowledges the take only once all of it is durable.
"""

import faust

from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.handlers import EVENT_HANDLERS, IGNORED_EVENTS, bind
from services.routing.handlers.deps import Deps
from services.routing.settings import RoutingSettings
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS
from shared.db.positions import Positions
from shared.kafka.dead_letters import DeadLetters
from shared.kafka.pipeline import ApplyBatch, Pipeline, dispatch
from shared.kafka.positions import Log, PartitionPositions
from shared.kafka.streams import StreamConsumer, raw_topic


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


def concern_consumer(
    settings: RoutingSettings,
    deps: Deps | None,
    dead_letters: DeadLetters,
    positions: Positions,
    log: Log,
    apply: ApplyBatch | None = None,
) -> StreamConsumer:
    """The pipeline of concern-events through the handler table, from routing's durable positions.

    `apply` replaces the table's handlers (unit tests and the bench's no-op agent give their own).
    """
    pipeline = Pipeline(
        consumer=settings.consumer_group,
        decoder=decode,
        apply=apply or dispatch(bind(deps)),
        handles=EVENT_HANDLERS.keys(),
        ignores=IGNORED_EVENTS,
        dead_letters=dead_letters,
    )
    return StreamConsumer(
        pipeline,
        PartitionPositions(settings.consumer_group, positions, log),
        log,
        per_transaction=settings.consume_batch_size,
    )


def register_agents(
    app: faust.App, settings: RoutingSettings, deps: Deps | None, consumer: StreamConsumer
) -> faust.types.AgentT:
    """Attach the concern-events agent to the Faust app and return it.

    With `deps`, the repeat-windows table is created and given to the handler (`deps.windows`) as the fast path
    of the repeat rule; PostgreSQL stays its durable truth (see adapters/repeat_windows.py).
    """
    if deps is not None:
        deps.windows = RepeatWindows(repeat_windows_table(app, settings), max_subjects=settings.repeat_window_subjects)
        forget_on_rebalance(app, deps.windows)
    consumer.follow_rebalances(app, [settings.topic(CONCERN_EVENTS)])
    # Up to a full transaction for each partition in one take; a take waits at most consume_batch_wait_s to fill.
    take = settings.consume_batch_size * settings.topic_partitions

    @app.agent(raw_topic(app, settings.topic(CONCERN_EVENTS)), name="concern-events")
    async def concern_events(stream: faust.StreamT) -> None:
        async for events in stream.take_events(take, within=settings.consume_batch_wait_s):
            await consumer.apply(events)

    return concern_events
