"""Rebuild: replay the topics from the start into a shadow schema, then swap it in under the projection lock.

1. Snapshot the end offsets; read every record up to them, decode it with the contracts (what live would
   dead-letter is skipped), map it with the same handlers as live into staging rows (COPY, in batches).
2. Fold the staging rows into fresh projection tables with set-based SQL (`rebuild_sql.FOLD`).
3. Take the projection lock exclusively (live updates wait), apply what arrived since the snapshot through
   the live code path into the shadow tables, and swap the tables in; the live worker then carries on.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.stats.adapters.applier import apply_in
from services.stats.adapters.projections import PROJECTION_LOCK
from services.stats.adapters.rebuild_sql import FOLD, PROJECTION_TABLES, SHADOW, SHADOW_INDEXES, STAGING
from services.stats.adapters.staging import StagingWriter
from services.stats.adapters.topic_reader import Offsets, TopicReader
from services.stats.domain.facts import REPEAT_THRESHOLD, REPEAT_WINDOW
from services.stats.handlers import EVENT_HANDLERS
from shared.contracts.envelope import ContractError, decode

Progress = Callable[[int], None]
REBUILD_LOCK = 774_002
"""Session advisory lock: one rebuild at a time (they would share the shadow schema)."""


FLUSH_ROWS = 10_000
"""Events per COPY round: big enough to amortise a round trip, small enough to overlap with decoding."""


class RebuildRunning(RuntimeError):
    """Another rebuild holds the rebuild lock."""


@dataclass
class RebuildReport:
    """What a rebuild read and applied."""

    records: int = 0
    applied: int = 0
    duplicates: int = 0
    skipped: int = 0
    caught_up: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    """Time per phase: stage (read, decode, copy), fold (set-based SQL), swap (catch-up and swap)."""


async def rebuild(
    database_url: str,
    bootstrap_servers: str,
    topics: list[str],
    consumer: str,
    *,
    on_total: Callable[[int], None] = lambda _: None,
    on_progress: Progress = lambda _: None,
) -> RebuildReport:
    """Rebuild every projection from the topics and swap it in; returns what was read."""
    report = RebuildReport()
    conn = await asyncpg.connect(database_url, command_timeout=None)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
        await conn.close()
        raise RebuildRunning("another rebuild of the stats projections is running; wait for it to finish")
    try:
        await _create_shadow(conn)
        async with TopicReader(bootstrap_servers, topics) as reader:
            start, snapshot = await reader.beginnings(), await reader.ends()
            on_total(sum(snapshot[tp] - start[tp] for tp in reader.partitions))
            clock = time.perf_counter()
            await _stage(conn, reader, start, snapshot, report, on_progress)
            report.seconds["stage"], clock = time.perf_counter() - clock, time.perf_counter()
            await _fold(conn, consumer)
            report.seconds["fold"], clock = time.perf_counter() - clock, time.perf_counter()
            await _catch_up_and_swap(conn, reader, snapshot, consumer, report)
            report.seconds["swap"] = time.perf_counter() - clock
        report.counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in PROJECTION_TABLES}  # noqa: S608
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE")
        await conn.close()
    return report


async def _create_shadow(conn: asyncpg.Connection) -> None:
    # Indexes come after the load (see _index_shadow): one sort each instead of an insert per row. Staging
    # rows live in temporary tables: no WAL, session memory, gone with the session. One round trip for all.
    await conn.execute(
        "; ".join(
            [
                f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE",
                f"CREATE SCHEMA {SHADOW}",
                *[
                    f"CREATE TABLE {SHADOW}.{t} (LIKE public.{t} INCLUDING ALL EXCLUDING INDEXES)"
                    for t in PROJECTION_TABLES
                ],
                "SET temp_buffers = '256MB'",
                *[f"CREATE TEMPORARY TABLE {table} ({columns})" for table, columns in STAGING.items()],
            ]
        )
    )


async def _stage(
    conn: asyncpg.Connection,
    reader: TopicReader,
    start: Offsets,
    stop: Offsets,
    report: RebuildReport,
    progress: Progress,
) -> None:
    # Decoding (here) and COPY (in PostgreSQL, another process) overlap: full writers go through a short
    # queue to a copier task while the next records are decoded and Kafka's next fetch is under way.
    queue: asyncio.Queue[StagingWriter | None] = asyncio.Queue(maxsize=2)
    copier = asyncio.create_task(_copy_from(queue, conn))
    try:
        writer = StagingWriter()
        seen: set[str] = set()
        async for batch in reader.batches(start, stop):
            await _map(batch, writer, seen, report)
            if writer.size() >= FLUSH_ROWS:
                await _hand_over(queue, writer, copier)
                writer = writer.successor()
            progress(len(batch))
        await _hand_over(queue, writer, copier)
        await _hand_over(queue, None, copier)
        await copier
    finally:
        copier.cancel()


async def _map(batch: list[Any], writer: StagingWriter, seen: set[str], report: RebuildReport) -> None:
    handlers = EVENT_HANDLERS
    for record in batch:
        event = _decoded(record.value)
        if event is None or event.type not in handlers:
            report.skipped += 1  # live dead-letters it: it counts nowhere
            continue
        if event.id in seen:
            report.duplicates += 1
            continue
        seen.add(event.id)
        writer.event_ids.append((event.id,))
        await handlers[event.type](event, writer)
    report.records += len(batch)
    report.applied = len(seen)


async def _copy_from(queue: "asyncio.Queue[StagingWriter | None]", conn: asyncpg.Connection) -> None:
    while (writer := await queue.get()) is not None:
        await writer.flush(conn, "pg_temp")


async def _hand_over(
    queue: "asyncio.Queue[StagingWriter | None]", item: StagingWriter | None, copier: asyncio.Task[None]
) -> None:
    """Queue `item` for the copier; a copier that failed raises here instead of leaving us waiting."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, copier}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        copier.result()
        raise RuntimeError("the staging copier stopped early")


def _decoded(value: bytes | None) -> Any:
    try:
        return decode(value or b"")
    except ContractError:
        return None


async def _fold(conn: asyncpg.Connection, consumer: str) -> None:
    params: dict[int, tuple[Any, ...]] = {1: (REPEAT_WINDOW, REPEAT_THRESHOLD), 6: (consumer,)}
    async with conn.transaction():
        # Nothing here is live until the swap, and a lost fold is simply redone: no need to wait for the disk.
        await conn.execute("SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '256MB'")
        await conn.execute(f"SET LOCAL search_path TO {SHADOW}")
        for index, statement in enumerate(FOLD):
            await conn.execute(statement, *params.get(index, ()))
        # The inbox of other consumers sharing this database moves along unchanged.
        await conn.execute(
            "INSERT INTO processed_events SELECT * FROM public.processed_events WHERE consumer <> $1", consumer
        )
        await _index_shadow(conn)
    await conn.execute(f"ANALYZE {', '.join(f'{SHADOW}.{t}' for t in PROJECTION_TABLES)}")


async def _index_shadow(conn: asyncpg.Connection) -> None:
    """Give the loaded shadow tables the live tables' keys and indexes, under the same names."""
    statements = []
    for row in await conn.fetch(SHADOW_INDEXES, list(PROJECTION_TABLES)):
        table = row["table_name"]
        if row["constraint_name"]:
            statements.append(
                f'ALTER TABLE {SHADOW}.{table} ADD CONSTRAINT "{row["constraint_name"]}" {row["constraint_def"]}'
            )
        else:
            live, shadow = f" ON public.{table} ", f" ON {SHADOW}.{table} "
            if live not in row["index_def"]:
                raise RuntimeError(f"cannot place an index of {table} on the shadow table")
            statements.append(row["index_def"].replace(live, shadow, 1))
    await conn.execute("; ".join(statements))


async def _catch_up_and_swap(
    conn: asyncpg.Connection, reader: TopicReader, snapshot: Offsets, consumer: str, report: RebuildReport
) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PROJECTION_LOCK)
        await conn.execute(f"SET LOCAL search_path TO {SHADOW}, public")
        async for batch in reader.batches(snapshot, await reader.ends()):
            for record in batch:
                event = _decoded(record.value)
                if event is not None and event.type in EVENT_HANDLERS and await apply_in(conn, consumer, event):
                    report.caught_up += 1
        swap = [f"DROP TABLE public.{t}; ALTER TABLE {SHADOW}.{t} SET SCHEMA public" for t in PROJECTION_TABLES]
        await conn.execute("; ".join(["SET LOCAL search_path TO public", *swap]))
