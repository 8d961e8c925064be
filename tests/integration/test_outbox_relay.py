"""The shared outbox relay on the real PostgreSQL and Kafka: order per key and at-least-once through crashes."""

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared import outbox
from shared.contracts.concerns import ConcernErased
from shared.contracts.envelope import decode, make_event
from shared.contracts.topics import CONCERN_EVENTS
from shared.outbox import OutboxRelay
from shared.outbox.kafka import kafka_sender
from shared.outbox.postgres import OutboxRow, PostgresOutbox
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


class Crash(Exception):
    """The relay's process dying at this point."""


def erased_event(key: str, seq: int):  # noqa: ANN201
    data = ConcernErased(concern_id=f"c-{key}-{seq:03d}", subject_key=key, erased_at="2025-03-04T08:30:00Z")
    return make_event(data, source="/services/intake", subject=key, id=str(uuid.uuid4()))


async def queue(url: str, events: list) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await outbox.enqueue(conn, CONCERN_EVENTS, events)
    finally:
        await conn.close()


async def unpublished(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
    finally:
        await conn.close()


class Observed:
    """Wraps the Kafka sender: records what it sent, and may crash before sending all or before the mark."""

    def __init__(self, bootstrap: str, prefix: str, *, crashes: list[str] | None = None):
        self._bootstrap, self._prefix = bootstrap, prefix
        self.crashes = crashes or []  # "half": send the first half, then die; "before-mark": send all, then die
        self.sent: list[OutboxRow] = []

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator["Observed"]:
        async with kafka_sender(self._bootstrap, "test-relay", {CONCERN_EVENTS: self._prefix + CONCERN_EVENTS}) as s:
            self._kafka = s
            yield self

    async def send(self, rows: list[OutboxRow]) -> None:
        crash = self.crashes.pop(0) if self.crashes else None
        if crash == "half":
            rows = rows[: len(rows) // 2]
        await self._kafka.send(rows)
        self.sent += rows
        if crash:
            raise Crash(crash)


def relay(url: str, sender: Observed, **kw) -> OutboxRelay:  # noqa: ANN003
    kw.setdefault("poll_interval_s", 0.2)
    return OutboxRelay(PostgresOutbox(url, "intake"), sender.session, service="intake", **kw)


@contextlib.asynccontextmanager
async def relaying(*relays: OutboxRelay) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def drained(url: str, within: float = 60) -> None:
    async def empty() -> bool:
        return await unpublished(url) == 0

    await eventually(empty, within=within, what="the outbox drained")


async def interleaved(url: str, keys: int, per_key: int) -> list[str]:
    names = [f"sk_{k:03d}{uuid.uuid4().hex[:6]}" for k in range(keys)]
    for seq in range(per_key):  # across keys, in several transactions, as concurrent requests would write them
        await queue(url, [erased_event(key, seq) for key in names])
    return names


def first_copies(records: list) -> tuple[dict[str, list[str]], dict[str, set[int]], int]:
    """Each key's concern ids in the order of their first copy, each key's partitions, and how many repeats."""
    seen: set[str] = set()
    order: dict[str, list[str]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    repeats = 0
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = decode(record.value)
        partitions[event.subject].add(record.partition)
        if event.id in seen:
            repeats += 1
            continue
        seen.add(event.id)
        order[event.subject].append(event.data.concern_id)
    return order, partitions, repeats


def assert_in_order(records: list, keys: list[str], per_key: int) -> int:
    order, partitions, repeats = first_copies(records)
    assert set(order) == set(keys)
    for key in keys:
        assert order[key] == [f"c-{key}-{seq:03d}" for seq in range(per_key)], key
        assert len(partitions[key]) == 1
    return repeats


async def test_two_relays_of_one_service_one_publishes_each_row_once_in_order_per_key(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with fresh_database("intake") as url:
        keys = await interleaved(url, keys=20, per_key=10)
        one, two = Observed(kafka_bootstrap, topic_prefix), Observed(kafka_bootstrap, topic_prefix)
        async with relaying(relay(url, one, batch_size=7), relay(url, two, batch_size=7)):
            await drained(url)
            more = [erased_event(key, 10) for key in keys]
            await queue(url, more)
            await drained(url)
    assert sorted((len(one.sent), len(two.sent))) == [0, 220], "one leader publishes, the other waits"
    records = await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=220)
    assert len(records) == 220 and assert_in_order(records, keys, per_key=11) == 0


async def test_a_crash_between_publishing_and_marking_publishes_again_and_loses_nothing(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with fresh_database("intake") as url:
        keys = await interleaved(url, keys=5, per_key=6)
        sender = Observed(kafka_bootstrap, topic_prefix, crashes=["before-mark"])
        async with relaying(relay(url, sender, batch_size=12)):
            await drained(url)
    assert len(sender.sent) == 30 + 12, "the first batch was sent twice: it was never marked"
    records = await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=42)
    assert assert_in_order(records, keys, per_key=6) == 12


async def test_a_crash_in_the_middle_of_a_batch_keeps_the_order_per_key(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with fresh_database("intake") as url:
        keys = await interleaved(url, keys=6, per_key=8)
        # Two deaths: after half of a batch reached the broker, then after a whole one did.
        sender = Observed(kafka_bootstrap, topic_prefix, crashes=["half", "before-mark", "half"])
        async with relaying(relay(url, sender, batch_size=20)):
            await drained(url)
    assert {r.id for r in sender.sent} == set(range(1, 49))
    records = await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=len(sender.sent))
    assert assert_in_order(records, keys, per_key=8) == len(sender.sent) - 48 > 0


async def test_a_waiting_relay_takes_over_when_the_leaders_session_ends(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with fresh_database("intake") as url:
        first, second = Observed(kafka_bootstrap, topic_prefix), Observed(kafka_bootstrap, topic_prefix)
        leader = asyncio.create_task(relay(url, first).run())
        await queue(url, [erased_event("sk_before0001", 0)])
        await drained(url)
        async with relaying(relay(url, second)):
            await asyncio.sleep(0.5)
            leader.cancel()  # its session closes and PostgreSQL releases the lock
            with contextlib.suppress(asyncio.CancelledError):
                await leader
            await queue(url, [erased_event("sk_after00001", 0)])
            await drained(url)
    assert [r.key for r in first.sent] == ["sk_before0001"] and [r.key for r in second.sent] == ["sk_after00001"]


async def test_notify_wakes_an_idle_relay(fresh_database, kafka_bootstrap: str, topic_prefix: str) -> None:
    async with fresh_database("notify") as url:
        sender = Observed(kafka_bootstrap, topic_prefix)
        # Polling every 10 minutes: only the insert trigger's NOTIFY can get the row out within the deadline.
        async with relaying(relay(url, sender, poll_interval_s=600)):
            await asyncio.sleep(1.0)
            await queue(url, [erased_event("sk_notified0001", 0)])
            await drained(url, within=30)


async def test_polling_finds_rows_when_no_notification_comes(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with fresh_database("routing") as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TRIGGER outbox_events_notify ON outbox_events")
        finally:
            await conn.close()
        async with relaying(relay(url, Observed(kafka_bootstrap, topic_prefix), poll_interval_s=0.3)):
            await asyncio.sleep(0.5)
            await queue(url, [erased_event("sk_polled00001", 0)])
            await drained(url, within=30)
