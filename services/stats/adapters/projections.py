"""Live projection updates in PostgreSQL: one event, one transaction, the inbox record committed with it.

Every update is order-independent (LEAST/GREATEST, counters, tombstones), so a rebuild arrives at the same rows
whatever the interleaving of the three topics. The keyed tables' statements are made from the merge rules in
`upserts.py`, which the rebuild's fold (`folding.py`) applies in memory.
"""

from datetime import datetime
from typing import Any

import asyncpg

from services.stats.adapters.upserts import KeyedWrites, Upsert
from services.stats.domain.facts import REPEAT_THRESHOLD, REPEAT_WINDOW, ConcernFact

PROJECTION_LOCK = 774_001
"""Advisory lock: live updates hold it shared, the rebuild's swap exclusively."""

_REFRESH_REPEATS = """
UPDATE concern_facts c SET repeated = r.n >= $2
FROM (
    SELECT a.concern_id,
           (SELECT count(*) FROM concern_facts o
             WHERE o.subject_key = a.subject_key
               AND o.reported_at BETWEEN a.reported_at - make_interval(secs => $3) AND a.reported_at) AS n
      FROM concern_facts a WHERE a.subject_key = ANY($1::text[])
) r
WHERE c.concern_id = r.concern_id AND c.repeated IS DISTINCT FROM (r.n >= $2)
"""
_ERASE = (
    "UPDATE concern_facts SET subject_key = NULL, erased = true, repeated = false WHERE concern_id = ANY($1::text[])"
)


async def erase_facts(conn: asyncpg.Connection, concern_ids: list[str]) -> None:
    """Erased concerns lose their tenancy pseudonym and their repeat flag (live: one; a rebuild: all at once)."""
    await conn.execute(_ERASE, concern_ids)


async def refresh_repeats(conn: asyncpg.Connection, subject_keys: list[str]) -> None:
    """The repeat flags of these tenancies' concerns, counted anew (live: one tenancy; a rebuild: every one)."""
    # The window in elapsed seconds, not days: '90 days' in SQL would follow the session's time zone across
    # daylight saving, where the domain counts 90 x 24 hours.
    await conn.execute(_REFRESH_REPEATS, subject_keys, REPEAT_THRESHOLD, REPEAT_WINDOW.total_seconds())


class PostgresProjectionWriter(KeyedWrites):
    """Writes one event's effect through a connection inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def record_concern(self, fact: ConcernFact) -> None:
        """A new concern: its fact row, the daily rollups, and the tenancy's repeat flags."""
        erased = await self._conn.fetchval(
            """
            INSERT INTO concern_facts (concern_id, organisation_id, department_id, municipality_code, subject_key,
                                       severity, categories, reported_at, day, erased)
            SELECT $1, $2, $3, $4, CASE WHEN e.concern_id IS NULL THEN $5 END, $6, $7, $8, $9, e.concern_id IS NOT NULL
              FROM (SELECT 1) one LEFT JOIN erasures e ON e.concern_id = $1
            ON CONFLICT (concern_id) DO NOTHING
            RETURNING erased
            """,
            fact.concern_id,
            fact.organisation_id,
            fact.department_id,
            fact.municipality_code,
            fact.subject_key,
            fact.severity,
            list(fact.categories),
            fact.reported_at,
            fact.day,
        )
        if erased is None:
            return  # the same concern under another event id: counted once
        place = (fact.day, fact.department_id, fact.municipality_code)
        # Rows are locked in one order (the table's, then categories sorted): workers side by side cannot deadlock.
        await self._conn.execute(
            """
            INSERT INTO concern_counts VALUES ($1, $2, $3, $4, 1)
            ON CONFLICT (day, department_id, municipality_code, severity)
            DO UPDATE SET concerns = concern_counts.concerns + 1
            """,
            *place,
            fact.severity,
        )
        await self._conn.execute(
            """
            INSERT INTO concern_category_counts
            SELECT $1, $2, $3, category, $5, 1 FROM unnest($4::text[]) category ORDER BY category
            ON CONFLICT (day, department_id, municipality_code, category, severity)
            DO UPDATE SET concerns = concern_category_counts.concerns + 1
            """,
            *place,
            list(fact.categories),
            fact.severity,
        )
        if not erased and fact.subject_key is not None:
            await refresh_repeats(self._conn, [fact.subject_key])

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: datetime) -> None:
        """Forget the concern's tenancy pseudonym; the anonymous counts stay."""
        await self._conn.execute(
            "INSERT INTO erasures VALUES ($1, $2) ON CONFLICT (concern_id) DO NOTHING", concern_id, erased_at
        )
        stored = await self._conn.fetchval(
            "SELECT subject_key FROM concern_facts WHERE concern_id = $1 FOR UPDATE", concern_id
        )
        await erase_facts(self._conn, [concern_id])
        await refresh_repeats(self._conn, sorted({stored or subject_key, subject_key}))

    async def apply(self, upsert: Upsert, values: tuple[Any, ...]) -> None:
        """A keyed table's write (`upserts.py`): its INSERT ... ON CONFLICT statement."""
        await self._conn.execute(upsert.sql, *values)
