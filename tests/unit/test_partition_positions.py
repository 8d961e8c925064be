"""What of a delivered run a consumer applies: from its durable position, holes and quiet tails read back, repeats
left out."""

import pytest

from shared.db.positions import InMemoryPositions
from shared.kafka.dead_letters import InMemoryDeadLetters, RawMessage
from shared.kafka.pipeline import Pipeline, dispatch
from shared.kafka.positions import InMemoryLog, PartitionPositions
from shared.kafka.streams import StreamConsumer
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.unit
P = ("t.concern-events", 0)


def messages(*offsets: int) -> list[RawMessage]:
    return [RawMessage(P[0], P[1], o, b"k", f"v{o}".encode()) for o in offsets]


def log_of(*offsets: int) -> InMemoryLog:
    log = InMemoryLog()
    for message in messages(*offsets):
        log.append(message)
    return log


async def test_a_partition_never_applied_starts_at_the_start_of_the_log_not_where_faust_starts() -> None:
    # Faust committed past 0-2 (it acked them while skipping them in a rebalance) before anything was applied.
    log = log_of(0, 1, 2, 3, 4)
    positions = PartitionPositions("c", InMemoryPositions(), log)
    run = await positions.complete(P, messages(3, 4))
    assert [m.offset for m in run] == [0, 1, 2, 3, 4]
    assert log.reads == [(P, 0, 3)]


async def test_holes_inside_a_run_are_read_back_and_repeats_below_the_position_left_out() -> None:
    store = InMemoryPositions()
    await store.save("c", {P: 10})
    log = log_of(*range(10, 20))
    positions = PartitionPositions("c", store, log)
    run = await positions.complete(P, messages(8, 9, 10, 13, 14, 12, 17))
    assert [m.offset for m in run] == [10, 11, 12, 13, 14, 15, 16, 17]
    assert log.reads == [(P, 11, 13), (P, 15, 17)]


async def test_a_hole_that_holds_no_record_is_passed_over() -> None:
    # Offsets of transaction markers (or of records compacted away) hold nothing to apply.
    positions = PartitionPositions("c", InMemoryPositions(), log_of(0, 2, 5))
    assert [m.offset for m in await positions.complete(P, messages(0, 2, 5))] == [0, 2, 5]


async def test_advance_saves_forward_only_and_forget_reads_the_store_again() -> None:
    store = InMemoryPositions()
    positions = PartitionPositions("c", store, log_of(*range(30)))
    await positions.advance(P, messages(0, 1, 2))
    assert store.stored[("c", *P)] == 3
    await store.save("c", {P: 20})  # another worker went on meanwhile
    await store.save("c", {P: 5})  # and a slower one finished an older batch: no step back
    assert store.stored[("c", *P)] == 20
    # Still at 3 in memory: 3-19 are read back (and applied again, idempotently) until the store is read again.
    assert [m.offset for m in await positions.complete(P, messages(20))] == list(range(3, 21))
    positions.forget()
    assert [m.offset for m in await positions.complete(P, messages(20, 21))] == [20, 21]


async def test_dispatch_gives_a_handler_named_for_several_types_their_mixed_run_in_one_call() -> None:
    reported, erased = concern_event(), concern_event()
    erased = erased.model_copy(update={"type": "concern.erased.v1"})
    calls: list[list[str]] = []

    async def both(events: list) -> None:
        calls.append([e.type for e in events])

    async def other(events: list) -> None:
        calls.append(["other"] * len(events))

    apply = dispatch({"concern.reported.v1": both, "concern.erased.v1": both, "x.v1": other})
    await apply([reported, erased, reported])
    assert calls == [["concern.reported.v1", "concern.erased.v1", "concern.reported.v1"]]


def stream_consumer(log: InMemoryLog, store: InMemoryPositions, applied: list[int], quiet_s: float = 0.0):  # noqa: ANN201
    async def apply(events: list) -> None:
        applied.extend(int(e) for e in events)

    pipeline = Pipeline(
        consumer="c",
        decoder=lambda value: _Offset(value.decode().removeprefix("v")),
        apply=apply,
        handles={"offset"},
        dead_letters=InMemoryDeadLetters(),
    )
    return StreamConsumer(pipeline, PartitionPositions("c", store, log), log, per_transaction=2, quiet_s=quiet_s)


class _Offset(str):
    type = "offset"


async def test_a_quiet_partition_behind_its_end_is_caught_up_from_the_log() -> None:
    # Faust acknowledged 2-4 without delivering them, and nothing came after them to show the hole.
    store, applied = InMemoryPositions(), []
    await store.save("c", {P: 2})
    consumer = stream_consumer(log_of(0, 1, 2, 3, 4), store, applied)
    await consumer.catch_up([P])
    assert applied == [2, 3, 4] and store.stored[("c", *P)] == 5
    await consumer.catch_up([P])  # at the end: nothing more
    assert applied == [2, 3, 4]


async def test_a_partition_faust_is_still_feeding_is_left_to_it() -> None:
    store, applied = InMemoryPositions(), []
    consumer = stream_consumer(log_of(0, 1, 2), store, applied, quiet_s=60)
    await consumer.catch_up([P])  # just assigned: quiet for less than a minute
    assert applied == [] and store.stored == {}


async def test_the_catch_up_timer_waits_out_a_broker_outage_instead_of_crashing_the_app() -> None:
    # Seen in the chaos tier: end_offsets timed out while the broker was down, the exception left Faust's timer,
    # and the crashed app never consumed again.
    from aiokafka.errors import KafkaTimeoutError

    class BrokerAway(InMemoryLog):
        async def ends(self, partitions):  # noqa: ANN001, ANN202
            raise KafkaTimeoutError("Failed to get offsets by times in 40000 ms")

    async def apply(events):  # noqa: ANN001, ANN202
        return None

    log = BrokerAway()
    pipeline = Pipeline(consumer="c", decoder=bytes, apply=apply, handles=(), dead_letters=InMemoryDeadLetters())
    consumer = StreamConsumer(
        pipeline, PartitionPositions("c", InMemoryPositions(), log), log, per_transaction=10, quiet_s=0
    )
    with pytest.raises(KafkaTimeoutError):
        await consumer.catch_up([P])
    await consumer.catch_up_or_wait([P])  # postponed to the next tick, not raised
