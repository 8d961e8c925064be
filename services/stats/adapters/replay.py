"""The rebuild's replay: read partitions up to a snapshot, decode, fold in memory, load the shadow tables.

Decoding and folding cost Python time per event, so the partitions are shared out between this process
and forked worker processes (`workers`), each with its own Kafka consumer and database connection, and
each loads the rows it folded. No row may be folded in two places: all of concern-events stays here (a
tenancy's repeat flags need all its concerns), and a referral, delivery or event id that two processes
both saw (only when producers key inconsistently) shows as a duplicate key when the shadow tables get
their keys; the caller then replays again in this process alone (`Overlap`).
"""

import asyncio
import contextlib
import gc
import io
import multiprocessing
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec
from aiokafka import TopicPartition

from services.stats.adapters.folding import COLUMNS, ProjectionFold
from services.stats.adapters.replay_codec import decode_for_replay
from services.stats.adapters.topic_reader import Offsets, TopicReader
from services.stats.handlers import EVENT_HANDLERS

Progress = Callable[[int], None]
Rows = list[str]
_POLL_S = 0.005
"""How often this process looks whether the workers have copied their inbox rows."""
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


class Overlap(RuntimeError):
    """Two processes folded rows of the same thing: their loads cannot simply be put side by side."""


class Counts(msgspec.Struct, array_like=True):
    """What a worker read, as it reports it."""

    records: int
    applied: int
    duplicates: int
    skipped: int
    concerns: bool
    """Whether it folded concern facts or erasures (which must all be folded in one place)."""

    @classmethod
    def of(cls, part: Part) -> "Counts":
        """A Part's counts."""
        fold = part.fold
        return cls(part.records, len(part.seen), part.duplicates, part.skipped, bool(fold.facts or fold.erasures))


@dataclass(frozen=True)
class Job:
    """Where a replay reads from and writes its inbox rows to."""

    bootstrap_servers: str
    database_url: str
    schema: str
    consumer: str
    start: Offsets
    stop: Offsets
    pinned: str
    """The topic of concern events: all its partitions are replayed in this process."""


def share_out(start: Offsets, stop: Offsets, ways: int, pinned: str) -> list[list[TopicPartition]]:
    """Partitions with records in `ways` groups of about equal record counts; the `pinned` topic's all in the first."""
    sizes = sorted(((stop[tp] - start.get(tp, 0), tp) for tp in stop), key=lambda s: (s[1].topic != pinned, -s[0]))
    groups: list[tuple[int, list[TopicPartition]]] = [(0, []) for _ in range(ways)]
    for size, tp in sizes:
        if size > 0:
            index = 0 if tp.topic == pinned else min(range(ways), key=lambda i: groups[i][0])
            groups[index] = (groups[index][0] + size, [*groups[index][1], tp])
    return [group for _, group in groups]


async def _nothing() -> None:
    return None


async def replay(
    job: Job,
    reader: TopicReader,
    conn: asyncpg.Connection,
    workers: int,
    progress: Progress,
    after_inbox: Callable[[], Awaitable[None]] = _nothing,
) -> tuple[Counts, ProjectionFold]:
    """Replay and load every partition of `job`, here and in up to `workers - 1` forked processes.

    `after_inbox` runs (on a connection of its own) as soon as every process has copied its inbox rows, while
    the folds are still made into rows and loaded: the inbox's key is built meanwhile. Returns once all is done,
    with the counts of all and this process's fold (the part it loaded); raises Overlap when a worker folded
    what only this process may, or what `after_inbox` raised (after everything else has finished)."""
    groups = share_out(job.start, job.stop, max(1, workers), job.pinned)
    with _no_cycle_collection():  # before the fork: the children inherit it
        return await _replay(job, reader, conn, groups, progress, after_inbox)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while the fold grows (it makes no cycles; reference counting frees the
    rest). Each full collection walks every object the fold holds, and with millions of them the collections
    took over a quarter of the replay (and made turning the fold into rows three times slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _replay(
    job: Job,
    reader: TopicReader,
    conn: asyncpg.Connection,
    groups: list[list[TopicPartition]],
    progress: Progress,
    after_inbox: Callable[[], Awaitable[None]],
) -> tuple[Counts, ProjectionFold]:
    children = [Child(job, group) for group in groups[1:] if group]
    after: asyncio.Task[None] | None = None
    try:
        part = await replay_part(job, reader, groups[0], conn, progress, lambda: _poll(children, progress))
        after = asyncio.create_task(_once_inboxes_copied(children, progress, after_inbox))
        await load(conn, job.schema, part.fold.rows())
        counts = [Counts.of(part)]
        for child in children:
            counts.append(await child.result())
            progress(child.take_progress())
        await after
    finally:
        for child in children:
            child.stop()
        if after is not None and not after.done():
            # Something above failed: let the other connection finish its statement before anything goes on
            # (a redo must not find it busy); its own outcome no longer matters.
            await asyncio.gather(after, return_exceptions=True)
    if any(c.concerns for c in counts[1:]):
        raise Overlap("a worker folded concern events (published to another topic than concern-events)")
    total = Counts(*(sum(getattr(c, f) for c in counts) for f in Counts.__struct_fields__[:4]), concerns=False)
    return total, part.fold


async def _once_inboxes_copied(
    children: "list[Child]", progress: Progress, after_inbox: Callable[[], Awaitable[None]]
) -> None:
    """`after_inbox`, once every worker has copied its inbox rows (this process has)."""
    while not all(child.inbox_copied() for child in children):
        _poll(children, progress)
        await asyncio.sleep(_POLL_S)
    await after_inbox()


def _poll(children: "list[Child]", progress: Progress) -> None:
    for child in children:
        progress(child.take_progress())


async def load(conn: asyncpg.Connection, schema: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Copy folded rows into the shadow tables (without keys yet: another process may load the same tables)."""
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table], schema_name=schema)


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
        self._inbox_copied = context.Value("b", 0, lock=False)
        self._reported = 0
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main,
            args=(job, partitions, sender, self._done, self._inbox_copied),
            name="stats-rebuild-replay",
            daemon=True,
        )
        self._process.start()
        sender.close()

    def take_progress(self) -> int:
        """Records replayed since the last call."""
        done = self._done.value
        delta, self._reported = done - self._reported, done
        return delta

    def inbox_copied(self) -> bool:
        """Whether the child has copied all its inbox rows (or will not: it ended)."""
        return bool(self._inbox_copied.value) or not self._process.is_alive()

    async def result(self) -> Counts:
        """The child's counts once it has loaded its rows; raises what the child raised."""
        try:
            message = await asyncio.to_thread(self._receiver.recv_bytes)
        except EOFError:
            raise RuntimeError(f"a replay worker died (exit code {self._process.exitcode})") from None
        if message.startswith(b"error:"):
            raise RuntimeError(f"a replay worker failed:\n{message[6:].decode()}")
        return msgspec.msgpack.decode(message[3:], type=Counts)

    def stop(self) -> None:
        """End the child if it still runs; reap it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)
        self._receiver.close()


def _child_main(job: Job, partitions: list[TopicPartition], sender: Any, done: Any, inbox_copied: Any) -> None:
    def count(n: int) -> None:
        done.value += n

    async def run() -> Counts:
        conn = await asyncpg.connect(job.database_url, command_timeout=None)
        try:
            await conn.execute("SET synchronous_commit = off")
            async with TopicReader(job.bootstrap_servers, partitions=partitions) as reader:
                part = await replay_part(job, reader, partitions, conn, count, lambda: None)
            inbox_copied.value = 1
            counts = Counts.of(part)
            if not counts.concerns:  # else the parent replays again anyway
                await load(conn, job.schema, part.fold.rows())
            return counts
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    try:
        message = b"ok:" + msgspec.msgpack.encode(asyncio.run(run()))
    except BaseException:  # noqa: BLE001 - whatever it is, the parent must hear of it
        message = b"error:" + traceback.format_exc().encode()
    sender.send_bytes(message)
    sender.close()
