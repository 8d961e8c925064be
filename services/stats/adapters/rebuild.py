"""Rebuild: replay the topics from the start into a shadow schema, then swap it in under the projection lock.

1. Snapshot the end offsets; read every record up to them, decode it (`replay_codec`, made from the contracts:
   what live would dead-letter is skipped) and fold it with the same handlers as live into in-memory
   projections (`folding.ProjectionFold`, by the live merge rules of `upserts.py`); the inbox rows are copied to
   PostgreSQL meanwhile, in batches. The partitions are shared out between this process and forked workers
   (`replay`).
2. Copy the folded rows into the shadow tables in bulk, then give them the live tables' keys and indexes (the
   inbox's key is built as soon as all its rows are in, while the folded rows are still being loaded).
3. Take the projection lock exclusively (live updates wait), apply what arrived since the snapshot through
   the live code path into the shadow tables, and swap the tables in; the live worker then carries on.
"""

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.stats.adapters.applier import apply_in
from services.stats.adapters.projections import PROJECTION_LOCK
from services.stats.adapters.rebuild_sql import PROJECTION_TABLES, SHADOW, SHADOW_INDEXES
from services.stats.adapters.replay import Counts, Job, Overlap, replay
from services.stats.adapters.topic_reader import Offsets, TopicReader
from services.stats.handlers import EVENT_HANDLERS
from shared.contracts.envelope import ContractError, decode
from shared.contracts.topics import CONCERN_EVENTS

Progress = Callable[[int], None]
REBUILD_LOCK = 774_002
"""Session advisory lock: one rebuild at a time (they would share the shadow schema)."""

INBOX = ("processed_events",)
"""Keyed on the second connection as soon as every replay process has copied its inbox rows, while the projection
rows are still being made and loaded: one row per event ever applied, the largest key to build."""
PROJECTIONS = (("concern_facts", "erasures", "concern_counts", "concern_category_counts"), ("referrals", "deliveries"))
"""Keyed once all is loaded, in two groups of about equal work, one on each connection."""
STATISTICS_TARGET = 10
"""Planner statistics of the swapped-in tables from a small sample (PostgreSQL's default is 100, which took
longer than keying all of them): enough for row counts and the choice of index; autovacuum's next analyse, with
the server's target, refines them."""
ANALYZED = frozenset({"concern_facts", "concern_counts", "concern_category_counts", "referrals", "deliveries"})

WORKERS = min(2, os.cpu_count() or 1)
"""Processes that share the replay by default: decoding is CPU-bound Python, so one per core (two at most)."""


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
    """Time per phase: replay (read, decode, fold, load; the inbox's key meanwhile), keys (the projections' keys,
    indexes and statistics), swap (catch-up, swap)."""


async def rebuild(
    database_url: str,
    bootstrap_servers: str,
    topics: list[str],
    consumer: str,
    *,
    on_total: Callable[[int], None] = lambda _: None,
    on_progress: Progress = lambda _: None,
    workers: int = WORKERS,
) -> RebuildReport:
    """Rebuild every projection from the topics and swap it in; returns what was read."""
    report = RebuildReport()
    conn, other = await asyncio.gather(*(asyncpg.connect(database_url, command_timeout=None) for _ in range(2)))
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REBUILD_LOCK):
        await asyncio.gather(conn.close(), other.close())
        raise RebuildRunning("another rebuild of the stats projections is running; wait for it to finish")
    try:
        async with TopicReader(bootstrap_servers, topics) as reader:
            _, start, snapshot = await asyncio.gather(_create_shadow(conn), reader.beginnings(), reader.ends())
            on_total(sum(snapshot[tp] - start[tp] for tp in reader.partitions))
            pinned = next((t for t in topics if t.endswith(CONCERN_EVENTS)), "")
            job = Job(bootstrap_servers, database_url, SHADOW, consumer, start, snapshot, pinned)
            try:
                counts = await _replay_and_key(job, reader, [conn, other], workers, on_progress, report)
            except Overlap:
                # Rare (inconsistently keyed producers): what two processes both folded needs one fold.
                await _create_shadow(conn)
                counts = await _replay_and_key(job, reader, [conn, other], 1, lambda _: None, report)
            report.records, report.applied = counts.records, counts.applied
            report.duplicates, report.skipped = counts.duplicates, counts.skipped
            clock = time.perf_counter()
            await _catch_up_and_swap(conn, reader, snapshot, consumer, report)
            report.seconds["swap"] = time.perf_counter() - clock
        counts_sql = ", ".join(f"(SELECT count(*) FROM {t})" for t in PROJECTION_TABLES)  # noqa: S608
        report.counts = dict(zip(PROJECTION_TABLES, await conn.fetchrow(f"SELECT {counts_sql}"), strict=True))
    finally:
        await other.close()
        await conn.execute(f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE")
        await conn.close()
    return report


async def _create_shadow(conn: asyncpg.Connection) -> None:
    # Indexes come after the load (see _index_shadow): one sort each instead of an insert per row.
    await conn.execute(
        "; ".join(
            [
                f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE",
                f"CREATE SCHEMA {SHADOW}",
                *[
                    f"CREATE TABLE {SHADOW}.{t} (LIKE public.{t} INCLUDING ALL EXCLUDING INDEXES)"
                    for t in PROJECTION_TABLES
                ],
                # Nothing here is live until the swap, and a lost load is simply redone: no need to wait for
                # the disk at each commit (the swap itself commits durably).
                "SET synchronous_commit = off",
            ]
        )
    )


def _decoded(value: bytes | None) -> Any:
    try:
        return decode(value or b"")
    except ContractError:
        return None


async def _replay_and_key(
    job: Job,
    reader: TopicReader,
    conns: list[asyncpg.Connection],
    workers: int,
    progress: Progress,
    report: RebuildReport,
) -> Counts:
    """Replay and load (see `replay`), then give the shadow tables their keys, indexes and statistics.

    The inbox is keyed on the second connection while the folds are still loaded on the first (`after_inbox`);
    the projection tables get theirs once all is loaded, on both. Both connections finish (or fail) before anything goes
    on: a redo must not find one still busy."""
    clock = time.perf_counter()
    index = await _index_statements(conns[0])
    try:
        counts, _ = await replay(
            job, reader, conns[0], workers, progress, after_inbox=lambda: _key(conns[1], INBOX, index, job.consumer)
        )
        report.seconds["replay"], clock = time.perf_counter() - clock, time.perf_counter()
        keyed = [_key(conn, tables, index, job.consumer) for conn, tables in zip(conns, PROJECTIONS, strict=True)]
        for outcome in await asyncio.gather(*keyed, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
    except asyncpg.UniqueViolationError as error:
        if workers > 1:
            raise Overlap(str(error)) from error
        raise
    report.seconds["keys"] = time.perf_counter() - clock
    return counts


async def _key(conn: asyncpg.Connection, tables: tuple[str, ...], index: dict[str, list[str]], consumer: str) -> None:
    async with conn.transaction():
        # Nothing here is live until the swap, and a lost load is simply redone: no need to wait for the disk.
        await conn.execute("SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'")
        if "processed_events" in tables:
            # The inbox of other consumers sharing this database moves along unchanged.
            others = "SELECT * FROM public.processed_events WHERE consumer <> $1"
            await conn.execute(f"INSERT INTO {SHADOW}.processed_events {others}", consumer)  # noqa: S608
        await conn.execute("; ".join(statement for table in tables for statement in index[table]))
    # The planner's statistics for what the API reads (the other tables are only looked up by key).
    if analyzed := [f"{SHADOW}.{t}" for t in tables if t in ANALYZED]:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
            await conn.execute(f"ANALYZE {', '.join(analyzed)}")


async def _index_statements(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Per table, what gives its shadow the live table's keys and indexes, under the same names."""
    statements: dict[str, list[str]] = {table: [] for table in PROJECTION_TABLES}
    for row in await conn.fetch(SHADOW_INDEXES, list(PROJECTION_TABLES)):
        table = row["table_name"]
        if row["constraint_name"]:
            statements[table].append(
                f'ALTER TABLE {SHADOW}.{table} ADD CONSTRAINT "{row["constraint_name"]}" {row["constraint_def"]}'
            )
        else:
            live, shadow = f" ON public.{table} ", f" ON {SHADOW}.{table} "
            if live not in row["index_def"]:
                raise RuntimeError(f"cannot place an index of {table} on the shadow table")
            statements[table].append(row["index_def"].replace(live, shadow, 1))
    return statements


async def _catch_up_and_swap(
    conn: asyncpg.Connection, reader: TopicReader, snapshot: Offsets, consumer: str, report: RebuildReport
) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PROJECTION_LOCK)
        await conn.execute(f"SET LOCAL synchronous_commit = on; SET LOCAL search_path TO {SHADOW}, public")
        async for batch in reader.batches(snapshot, await reader.ends()):
            for record in batch:
                event = _decoded(record.value)
                if event is not None and event.type in EVENT_HANDLERS and await apply_in(conn, consumer, event):
                    report.caught_up += 1
        swap = [f"DROP TABLE public.{t}; ALTER TABLE {SHADOW}.{t} SET SCHEMA public" for t in PROJECTION_TABLES]
        await conn.execute("; ".join(["SET LOCAL search_path TO public", *swap]))
