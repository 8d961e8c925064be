"""The shared outbox relay with in-memory fakes: order per key, at-least-once across crashes, one leader."""

import asyncio
import contextlib
from collections import defaultdict

import pytest
from prometheus_client import REGISTRY

from shared.contracts.envelope import decode
from shared.contracts.examples import example_events
from shared.outbox import OutboxRecord, OutboxRelay, insert_sql, record_of
from shared.outbox.fakes import InMemoryOutbox, RecordingSender
from shared.outbox.kafka import KafkaSender
from shared.outbox.postgres import OutboxRow, lock_key

pytestmark = pytest.mark.unit


class Crash(Exception):
    """A failure in the middle of a batch."""


def relay(outbox: InMemoryOutbox, sender: RecordingSender, service: str = "unit", **kw) -> OutboxRelay:  # noqa: ANN003
    kw.setdefault("poll_interval_s", 0.01)
    return OutboxRelay(outbox, sender.session, service=service, **kw)


def first_copies(sent: list[OutboxRow]) -> dict[str, list[int]]:
    """Each key's row ids in the order their first copy was sent (what an idempotent consumer applies)."""
    seen: set[int] = set()
    order: dict[str, list[int]] = defaultdict(list)
    for row in sent:
        if row.id not in seen:
            seen.add(row.id)
            order[row.key].append(row.id)
    return order


def filled(keys: int = 4, per_key: int = 9) -> InMemoryOutbox:
    outbox = InMemoryOutbox()
    for _ in range(per_key):
        for k in range(keys):
            outbox.add("concern-events", f"sk_{k}")
    return outbox


async def drain(r: OutboxRelay, outbox: InMemoryOutbox) -> int:
    async with r.leading() as (session, sender):
        total = 0
        while n := await r.relay_batch(session, sender):
            total += n
        return total


async def test_every_row_is_published_in_id_order_and_marked() -> None:
    outbox, sender = filled(), RecordingSender()
    assert await drain(relay(outbox, sender, batch_size=5), outbox) == 36
    assert [r.id for r in sender.sent] == list(range(1, 37))
    assert outbox.pending_ids() == []


async def test_a_crash_before_the_mark_publishes_the_batch_again_and_loses_nothing() -> None:
    outbox = filled()

    def crash_at_the_twelfth(row: OutboxRow) -> None:
        if row.id == 12:
            raise Crash

    sender = RecordingSender(fail=crash_at_the_twelfth)
    r = relay(outbox, sender, batch_size=10)
    with pytest.raises(Crash):
        await drain(r, outbox)
    assert outbox.pending_ids() == list(range(11, 37)), "the crashed batch stays unpublished"
    sender.fail = None
    await drain(r, outbox)
    assert [r.id for r in sender.sent].count(11) == 2, "sent, not marked: sent again"
    assert sorted({r.id for r in sender.sent}) == list(range(1, 37))
    assert first_copies(sender.sent) == {f"sk_{k}": list(range(k + 1, 37, 4)) for k in range(4)}


async def test_the_run_loop_survives_failures_and_publishes_what_is_queued_later() -> None:
    outbox, failures = filled(keys=2, per_key=3), []

    def fail_twice(row: OutboxRow) -> None:
        if len(failures) < 2:
            failures.append(row.id)
            raise ConnectionError("broker away")

    sender = RecordingSender(fail=fail_twice)
    r = relay(outbox, sender, batch_size=4)
    task = asyncio.create_task(r.run())
    try:
        for _ in range(200):
            if not outbox.pending_ids():
                break
            await asyncio.sleep(0.01)
        late = outbox.add("concern-events", "sk_0")
        r.wake()
        for _ in range(200):
            if not outbox.pending_ids():
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert outbox.pending_ids() == []
    assert sender.sent[-1] == late
    assert REGISTRY.get_sample_value("outbox_relay_errors_total", {"service": "unit", "error": "ConnectionError"}) >= 2


class DatabaseAway(InMemoryOutbox):
    """An outbox whose database refuses the first `refusals` marks: the broker has the rows, the marks are lost."""

    def __init__(self, refusals: int = 1) -> None:
        super().__init__()
        self.refusals = refusals
        self.failed_marks = 0

    @contextlib.asynccontextmanager
    async def lead(self, retry_s: float):  # noqa: ANN201
        async with super().lead(retry_s) as session:
            original = session.mark

            async def mark(ids: list[int]) -> None:
                if self.failed_marks < self.refusals:
                    self.failed_marks += 1
                    raise ConnectionError("database away")
                await original(ids)

            session.mark = mark
            yield session


async def test_a_database_outage_after_the_send_marks_the_batch_on_the_next_lead_instead_of_sending_it_again() -> None:
    outbox, sender = DatabaseAway(), RecordingSender()
    for _ in range(3):
        for k in range(2):
            outbox.add("concern-events", f"sk_{k}")
    task = asyncio.create_task(relay(outbox, sender, batch_size=4).run())
    try:
        for _ in range(300):
            if not outbox.pending_ids():
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert outbox.failed_marks == 1, "the fault did not happen"
    assert outbox.pending_ids() == []
    assert [r.id for r in sender.sent] == list(range(1, 7)), "each row sent once, in id order"


async def test_a_relay_whose_marks_keep_failing_still_publishes_what_is_committed_after_them() -> None:
    """A database that refuses every mark (no outage: reads work) never stops the relay: the remembered batch is
    marked once on the next lead, then sent again, and rows committed meanwhile go out too."""
    outbox, sender = DatabaseAway(refusals=10**6), RecordingSender()
    r = relay(outbox, sender, batch_size=10)
    for k in range(2):
        outbox.add("concern-events", f"sk_{k}")
    task = asyncio.create_task(r.run())
    try:
        for _ in range(100):
            if outbox.failed_marks >= 2:
                break
            await asyncio.sleep(0.01)
        later = outbox.add("concern-events", "sk_0")
        r.wake()
        for _ in range(300):
            if later in sender.sent:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert outbox.failed_marks >= 2, "the fault did not happen"
    assert later in sender.sent, "the row committed while marks failed was never published"
    assert first_copies(sender.sent) == {"sk_0": [1, 3], "sk_1": [2]}


async def test_only_one_of_two_relays_leads_and_the_leader_gauge_says_which() -> None:
    outbox = filled()
    one, two = RecordingSender(), RecordingSender()
    first, second = relay(outbox, one, "gauged"), relay(outbox, two, "gauged")
    async with first.leading():
        waiting = asyncio.create_task(drain(second, outbox))
        await asyncio.sleep(0.05)
        assert not waiting.done(), "the second relay waits for the lock"
        assert REGISTRY.get_sample_value("outbox_relay_leader", {"service": "gauged"}) == 1
    assert await waiting == 36 and one.sent == []
    assert REGISTRY.get_sample_value("outbox_relay_leader", {"service": "gauged"}) == 0


async def test_the_relay_counts_what_it_published_and_observes_batch_sizes() -> None:
    outbox, sender = filled(keys=1, per_key=7), RecordingSender()
    before = REGISTRY.get_sample_value("outbox_published_total", {"service": "counted", "event_type": "test.v1"}) or 0
    await drain(relay(outbox, sender, "counted", batch_size=5), outbox)
    after = REGISTRY.get_sample_value("outbox_published_total", {"service": "counted", "event_type": "test.v1"})
    assert after - before == 7
    assert REGISTRY.get_sample_value("outbox_relay_batch_size_count", {"service": "counted"}) == 2
    assert REGISTRY.get_sample_value("outbox_relay_batch_size_sum", {"service": "counted"}) == 7


def test_records_keep_the_envelope_and_its_subject_as_key() -> None:
    event = example_events()[0]
    record = record_of(event)
    assert record == OutboxRecord(event.subject, str(event.id), event.type, record.payload)
    assert decode(record.payload) == event
    assert record_of(event, key="other").key == "other"


def test_queued_rows_conflict_on_the_event_id_only() -> None:
    assert insert_sql("SELECT 1").endswith("ON CONFLICT (event_id) DO NOTHING")


def test_each_service_has_its_own_relay_lock() -> None:
    locks = {lock_key(s) for s in ("intake", "routing", "notify", "stats")}
    assert len(locks) == 4 and all(-(2**63) <= k < 2**63 for k in locks)


def test_contract_topic_names_map_to_physical_ones_and_stored_physical_names_stay() -> None:
    sender = KafkaSender(None, {"concern-events": "p.concern-events"})  # type: ignore[arg-type]
    assert sender.topic("concern-events") == "p.concern-events"
    assert sender.topic("p.referral-events") == "p.referral-events"


async def test_the_kafka_sender_keeps_each_partitions_rows_in_order() -> None:
    rows = [OutboxRow(i, "concern-events", f"sk_{i % 3}", f"e-{i}", "t.v1", b"{}") for i in range(1, 31)]

    class Batch:
        def __init__(self) -> None:
            self.records: list[dict] = []

        def append(self, **record) -> object | None:  # noqa: ANN003
            if len(self.records) == 4:
                return None  # full
            self.records.append(record)
            return object()

    class Producer:
        def __init__(self) -> None:
            self.sent: list[tuple[str, int, list[dict]]] = []

        async def partitions_for(self, topic: str) -> set[int]:
            return {0, 1, 2, 3, 4, 5}

        def create_batch(self) -> Batch:
            return Batch()

        async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future:
            self.sent.append((topic, partition, batch.records))
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    producer = Producer()
    await KafkaSender(producer, {"concern-events": "p.concern-events"}).send(rows)  # type: ignore[arg-type]
    by_key: dict[bytes, list[str]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for topic, partition, records in producer.sent:
        assert topic == "p.concern-events"
        for record in records:
            by_key[record["key"]].append(dict(record["headers"])["ce_id"].decode())
            partitions[record["key"]].add(partition)
    for k in range(3):
        key = f"sk_{k}".encode()
        assert by_key[key] == [f"e-{i}" for i in range(1, 31) if i % 3 == k]
        assert len(partitions[key]) == 1


async def test_a_stopping_relay_publishes_what_was_committed_before_it_goes() -> None:
    outbox, sender = InMemoryOutbox(), RecordingSender()
    r = relay(outbox, sender, poll_interval_s=600)
    task = asyncio.create_task(r.run())
    await asyncio.sleep(0.05)  # leading, waiting for a wake-up that never comes
    outbox.add("notification-events", "sub-1")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert outbox.pending_ids() == [] and [row.key for row in sender.sent] == ["sub-1"]


class SlowFirstMark(InMemoryOutbox):
    """An outbox whose first mark waits until the test lets it go (a stop arrives while the relay marks)."""

    def __init__(self) -> None:
        super().__init__()
        self.marking = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lead(self, retry_s: float):  # noqa: ANN201
        async with super().lead(retry_s) as session:
            original, calls = session.mark, []

            async def mark(ids: list[int]) -> None:
                calls.append(ids)
                if len(calls) == 1:
                    self.marking.set()
                    await asyncio.sleep(3600)  # cancelled by the stop
                await original(ids)

            session.mark = mark
            yield session


async def test_a_stop_while_the_relay_marks_a_sent_batch_marks_it_in_the_drain_instead_of_sending_it_again() -> None:
    outbox, sender = SlowFirstMark(), RecordingSender()
    outbox.add("notification-events", "sub-1")
    task = asyncio.create_task(relay(outbox, sender).run())
    await asyncio.wait_for(outbox.marking.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [row.id for row in sender.sent] == [1], "sent once: the drain marked the batch the stop interrupted"
    assert outbox.pending_ids() == []
