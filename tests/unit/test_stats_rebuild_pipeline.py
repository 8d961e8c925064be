"""The rebuild's inbox pipeline: folding and COPY overlap, and a failing COPY stops the rebuild."""

import asyncio

import pytest

from services.stats.adapters import replay

pytestmark = pytest.mark.unit


class FailingConnection:
    async def copy_to_table(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("the database went away")


class SlowConnection:
    def __init__(self) -> None:
        self.copied: list[tuple[str, list[tuple[str, str]]]] = []

    async def copy_to_table(self, table: str, *, source, columns: list, schema_name: str) -> None:  # noqa: ANN001
        await asyncio.sleep(0.01)
        lines = source.read().decode().splitlines()
        self.copied.append((f"{schema_name}.{table}", [tuple(line.split("\t")) for line in lines]))

    async def copy_records_to_table(self, table: str, *, records: list, columns: list, schema_name: str) -> None:
        await asyncio.sleep(0.01)
        self.copied.append((f"{schema_name}.{table}", list(records)))


def _copier(queue: asyncio.Queue, conn: object) -> asyncio.Task:
    return asyncio.create_task(replay._copy_from(queue, conn, "shadow", "stats-service"))


async def test_a_failing_copy_surfaces_instead_of_leaving_the_decoder_waiting() -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    copier = _copier(queue, FailingConnection())

    with pytest.raises(ConnectionError):
        for n in range(5):  # the queue holds one: without the check the third hand-over would wait for ever
            await asyncio.wait_for(replay._hand_over(queue, [f"event-{n}"], copier), 5)


async def test_every_batch_of_inbox_rows_is_copied_in_order_whatever_characters_the_ids_hold() -> None:
    conn = SlowConnection()
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    copier = _copier(queue, conn)
    batches = [["event-0", "event-1"], ["tab\there", "line\nbreak", "back\\slash"], ["event-2"]]
    for batch in batches:
        await replay._hand_over(queue, batch, copier)
    await replay._hand_over(queue, None, copier)
    await copier

    assert conn.copied == [
        ("shadow.processed_events", [("stats-service", event_id) for event_id in batch]) for batch in batches
    ]


def test_partitions_are_shared_out_by_size_with_every_concern_partition_kept_here() -> None:
    from aiokafka import TopicPartition

    sizes = {("p.concern-events", 0): 50, ("p.concern-events", 1): 40, ("p.referral-events", 0): 300}
    sizes |= {("p.referral-events", 1): 200, ("p.notification-events", 0): 100, ("p.notification-events", 1): 0}
    stop = {TopicPartition(topic, partition): size for (topic, partition), size in sizes.items()}
    start = dict.fromkeys(stop, 0)

    here, worker = replay.share_out(start, stop, 2, "p.concern-events")

    assert {tp.topic for tp in here} >= {"p.concern-events"}
    assert all(tp.topic != "p.concern-events" for tp in worker)
    assert TopicPartition("p.notification-events", 1) not in here + worker  # nothing to read there
    assert (sum(stop[tp] for tp in here), sum(stop[tp] for tp in worker)) == (390, 300)  # as even as it gets
    (alone,) = replay.share_out(start, stop, 1, "p.concern-events")
    assert set(alone) == set(here + worker)


def test_the_cycle_collector_is_off_while_the_fold_grows_and_back_as_it_was_after() -> None:
    import gc

    assert gc.isenabled()
    with replay._no_cycle_collection():
        assert not gc.isenabled()  # full collections walked every object the fold holds: a quarter of the replay
    assert gc.isenabled()
    gc.disable()
    try:
        with replay._no_cycle_collection():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_the_topic_reader_long_polls_briefly(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.stats.adapters import topic_reader

    # A fetch that asks only for partitions at their end holds every drained partition for its whole long-poll.
    made: list[dict] = []
    monkeypatch.setattr(topic_reader, "AIOKafkaConsumer", lambda **config: made.append(config))
    topic_reader.TopicReader("127.0.0.1:1", ["t"])
    assert [config["fetch_max_wait_ms"] for config in made] == [20]
