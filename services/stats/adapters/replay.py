"""The rebuild's replay: read partitions up to a snapshot, decode, fold in memory, copy the inbox as it goes.

Decoding and folding cost Python time per event, so the partitions are shared out between this process
and forked worker processes (`workers`), each with its own Kafka consumer and database connection. A
worker's fold comes back whole and is merged as if its events had arrived after ours (any order across
partitions is one that live could have seen). One event id read by two of them (a duplicate published to
another partition) could count twice in a merge: then the replay is redone in this process alone.
"""

import asyncio
import contextlib
import io
import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from aiokafka import TopicPartition

from services.stats.adapters.folding import DeliveryRow, Fact, ProjectionFold, ReferralRow
from services.stats.adapters.replay_codec import decode_for_replay
from services.stats.adapters.topic_reader import Offsets, TopicReader
from services.stats.handlers import EVENT_HANDLERS

Progress = Callable[[int], None]
Rows = list[str]
FLUSH_ROWS = 20_000
"""Inbox rows per COPY round: big enough to amortise a round trip, small enough to overlap with decoding."""


@dataclass
class Part:
    """What one process replayed: its fold, the event ids it applied, and its counts."""

    fold: ProjectionFold = field(default_factory=ProjectionFold)
    seen: set[str] = field(default_factory=set)
    records: int = 0
    duplicates: int = 0
    skipped: int = 0


class Wire(msgspec.Struct, array_like=True):
    """A Part on its way from a worker (msgpack: an order of magnitude cheaper than pickling these rows)."""

    facts: list[Fact]
    erasures: list[tuple[str, datetime]]
    referrals: list[ReferralRow]
    deliveries: list[DeliveryRow]
    seen: list[str]
    records: int
    duplicates: int
    skipped: int

    @classmethod
    def of(cls, part: Part) -> "Wire":
        """The Part as it travels."""
        fold = part.fold
        return cls(
            list(fold.facts.values()),
            list(fold.erasures.items()),
            list(fold.referrals.values()),
            list(fold.deliveries.values()),
            list(part.seen),
            part.records,
            part.duplicates,
            part.skipped,
        )

    def part(self) -> Part:
        """The Part again."""
        part = Part(seen=set(self.seen), records=self.records, duplicates=self.duplicates, skipped=self.skipped)
        part.fold.facts = {fact[0]: fact for fact in self.facts}
        part.fold.erasures = dict(self.erasures)
        part.fold.referrals = {row[0]: row for row in self.referrals}
        part.fold.deliveries = {row[0]: row for row in self.deliveries}
        return part


WIRE = msgspec.msgpack.Decoder(Wire)


@dataclass(frozen=True)
class Job:
    """Where a replay reads from and writes its inbox rows to."""

    bootstrap_servers: str
    database_url: str
    schema: str
    consumer: str
    start: Offsets
    stop: Offsets


def share_out(start: Offsets, stop: Offsets, ways: int) -> list[list[TopicPartition]]:
    """Partitions with records in `ways` groups of about equal record counts (larger partitions first)."""
    sizes = sorted(((stop[tp] - start.get(tp, 0), tp) for tp in stop), key=lambda s: (-s[0], s[1]))
    groups: list[tuple[int, list[TopicPartition]]] = [(0, []) for _ in range(ways)]
    for size, tp in sizes:
        if size > 0:
            index = min(range(ways), key=lambda i: groups[i][0])
            groups[index] = (groups[index][0] + size, [*groups[index][1], tp])
    return [group for _, group in groups if group]


async def replay(job: Job, reader: TopicReader, conn: asyncpg.Connection, workers: int, progress: Progress) -> Part:
    """Replay every partition of `job` (here and in up to `workers - 1` forked processes); the merged Part."""
    groups = share_out(job.start, job.stop, max(1, workers))
    children = [Child(job, group) for group in groups[1:]]
    try:
        mine = await replay_part(
            job, reader, groups[0] if groups else [], conn, progress, lambda: _poll(children, progress)
        )
        parts = [mine]
        for child in children:
            parts.append(await child.result())
            progress(child.take_progress())
    finally:
        for child in children:
            child.stop()
    merged = parts[0]
    for part in parts[1:]:
        if not merged.seen.isdisjoint(part.seen):
            # The same event in two processes' partitions: redo it all here, where one inbox sees it all.
            await conn.execute(f"TRUNCATE {job.schema}.processed_events")
            return await replay_part(job, reader, groups_all(groups), conn, lambda _: None, lambda: None)
        merged.fold.merge(part.fold)
        merged.seen |= part.seen
        merged.records += part.records
        merged.duplicates += part.duplicates
        merged.skipped += part.skipped
    return merged


def groups_all(groups: list[list[TopicPartition]]) -> list[TopicPartition]:
    """Every partition of the groups, as one."""
    return [tp for group in groups for tp in group]


def _poll(children: "list[Child]", progress: Progress) -> None:
    for child in children:
        progress(child.take_progress())


async def replay_part(
    job: Job,
    reader: TopicReader,
    partitions: list[TopicPartition],
    conn: asyncpg.Connection,
    progress: Progress,
    tick: Callable[[], None],
) -> Part:
    """Fold the records of `partitions` up to the snapshot; the inbox rows go to the shadow inbox as they come."""
    part = Part()
    if not partitions:
        return part
    # Folding (here) and COPY (in PostgreSQL, another process) overlap: full batches of inbox rows go
    # through a short queue to a copier task while the next records are decoded and Kafka's next fetch
    # is under way.
    queue: asyncio.Queue[Rows | None] = asyncio.Queue(maxsize=2)
    copier = asyncio.create_task(_copy_from(queue, conn, job.schema, job.consumer))
    try:
        inbox: Rows = []
        async for batch in reader.batches(job.start, job.stop, partitions):
            await _apply(batch, part, inbox)
            if len(inbox) >= FLUSH_ROWS:
                await _hand_over(queue, inbox, copier)
                inbox = []
            progress(len(batch))
            tick()
        await _hand_over(queue, inbox, copier)
        await _hand_over(queue, None, copier)
        await copier
    finally:
        copier.cancel()
    return part


async def _apply(batch: list[Any], part: Part, inbox: Rows) -> None:
    handlers, fold, seen = EVENT_HANDLERS, part.fold, part.seen
    for record in batch:
        event = decode_for_replay(record.value)
        if event is None or event.type not in handlers:
            part.skipped += 1  # live dead-letters it: it counts nowhere
            continue
        if event.id in seen:
            part.duplicates += 1
            continue
        seen.add(event.id)
        inbox.append(event.id)
        await handlers[event.type](event, fold)
    part.records += len(batch)


async def _copy_from(queue: "asyncio.Queue[Rows | None]", conn: asyncpg.Connection, schema: str, consumer: str) -> None:
    while (ids := await queue.get()) is not None:
        if not ids:
            continue
        text = "\n".join(ids)
        if text.count("\n") == len(ids) - 1 and not any(c in text or c in consumer for c in "\\\t\r\0"):
            # COPY's text format, made in one join: far cheaper than encoding a record per row.
            lines = f"{consumer}\t" + f"\n{consumer}\t".join(ids) + "\n"
            await conn.copy_to_table(
                "processed_events",
                source=io.BytesIO(lines.encode()),
                columns=["consumer", "event_id"],
                schema_name=schema,
            )
        else:  # an event id with a character the text format would have to escape
            await conn.copy_records_to_table(
                "processed_events",
                records=[(consumer, i) for i in ids],
                columns=["consumer", "event_id"],
                schema_name=schema,
            )


async def _hand_over(queue: "asyncio.Queue[Rows | None]", item: Rows | None, copier: asyncio.Task[None]) -> None:
    """Queue `item` for the copier; a copier that failed raises here instead of leaving us waiting."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, copier}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        copier.result()
        raise RuntimeError("the inbox copier stopped early")


class Child:
    """A forked process replaying some partitions; its Part comes back pickled through a pipe."""

    def __init__(self, job: Job, partitions: list[TopicPartition]):
        context = multiprocessing.get_context("fork")  # no re-import: the models are built already
        self._done = context.Value("q", 0, lock=False)
        self._reported = 0
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main, args=(job, partitions, sender, self._done), name="stats-rebuild-replay", daemon=True
        )
        self._process.start()
        sender.close()

    def take_progress(self) -> int:
        """Records replayed since the last call."""
        done = self._done.value
        delta, self._reported = done - self._reported, done
        return delta

    async def result(self) -> Part:
        """The child's Part; raises what the child raised."""
        try:
            message = await asyncio.to_thread(self._receiver.recv_bytes)
        except EOFError:
            raise RuntimeError(f"a replay worker died (exit code {self._process.exitcode})") from None
        if message.startswith(b"error:"):
            raise RuntimeError(f"a replay worker failed:\n{message[6:].decode()}")
        return WIRE.decode(message[3:]).part()

    def stop(self) -> None:
        """End the child if it still runs; reap it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)
        self._receiver.close()


def _child_main(job: Job, partitions: list[TopicPartition], sender: Any, done: Any) -> None:
    def count(n: int) -> None:
        done.value += n

    async def run() -> Part:
        conn = await asyncpg.connect(job.database_url, command_timeout=None)
        try:
            await conn.execute("SET synchronous_commit = off")
            async with TopicReader(job.bootstrap_servers, partitions=partitions) as reader:
                return await replay_part(job, reader, partitions, conn, count, lambda: None)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    try:
        message = b"ok:" + msgspec.msgpack.encode(Wire.of(asyncio.run(run())))
    except BaseException:  # noqa: BLE001 - whatever it is, the parent must hear of it
        message = b"error:" + traceback.format_exc().encode()
    sender.send_bytes(message)
    sender.close()
