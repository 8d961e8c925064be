"""Live projection updates in PostgreSQL: one event, one transaction, the inbox record committed with it.

Every update is order-independent (LEAST/GREATEST, counters, tombstones), so a rebuild arrives at the same rows
whatever the interleaving of the three topics. The keyed tables' statements are made from the merge rules in
`upserts.py`, which the rebuild's fold (`folding.py`) applies in memory; the concern facts' pseudonyms and repeat
flags come from the domain's erasure and repeat rules (`facts.settle`), which the fold applies to all facts and
this module to the facts of the tenancy a report or erasure touches.
"""

from datetime import datetime
from typing import Any

import asyncpg

from services.stats.adapters.upserts import KeyedWrites, Upsert
from services.stats.domain.facts import ConcernFact, settle

PROJECTION_LOCK = 774_001
"""Advisory lock: live updates hold it shared, the rebuild's swap exclusively."""

_TENANCY_FACTS = """
SELECT f.concern_id, f.subject_key, f.reported_at, e.concern_id IS NOT NULL AS erased, f.erased AS was_erased,
       f.repeated AS was_repeated
  FROM concern_facts f LEFT JOIN erasures e ON e.concern_id = f.concern_id
 WHERE f.subject_key = ANY($1::text[]) OR f.concern_id = ANY($2::text[])
 ORDER BY f.concern_id
   FOR UPDATE OF f
"""
_SETTLE = """
UPDATE concern_facts c SET subject_key = s.subject_key, erased = s.erased, repeated = s.repeated
  FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[]) s(concern_id, subject_key, erased, repeated)
 WHERE c.concern_id = s.concern_id
"""


async def settle_facts(conn: asyncpg.Connection, subject_keys: list[str], concern_ids: list[str]) -> None:
    """Apply the domain's erasure and repeat rules (`facts.settle`) to these tenancies' and concerns' facts,
    writing only the rows whose pseudonym, erasure or repeat flag changes (locked in key order)."""
    rows = await conn.fetch(_TENANCY_FACTS, subject_keys, concern_ids)
    facts = [(row[0], row[1], row[2]) for row in rows]
    settled = settle(facts, {row[0] for row in rows if row[3]})
    changed = [(row[0], *now) for row, now in zip(rows, settled, strict=True) if now != (row[1], row[4], row[5])]
    if changed:
        await conn.execute(_SETTLE, *(list(column) for column in zip(*changed, strict=True)))


class PostgresProjectionWriter(KeyedWrites):
    """Writes one event's effect through a connection inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def record_concern(self, fact: ConcernFact) -> None:
        """A new concern: its fact row, the daily rollups, and the tenancy's repeat flags."""
        inserted = await self._conn.fetchval(
            """
            INSERT INTO concern_facts (concern_id, organisation_id, department_id, municipality_code, subject_key,
                                       severity, categories, reported_at, day)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (concern_id) DO NOTHING
            RETURNING true
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
        if inserted is None:
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
        # An erasure read first, and the tenancy's repeat flags, by the domain's rules.
        await settle_facts(self._conn, [] if fact.subject_key is None else [fact.subject_key], [fact.concern_id])

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: datetime) -> None:
        """Forget the concern's tenancy pseudonym; the anonymous counts stay."""
        await self._conn.execute(
            "INSERT INTO erasures VALUES ($1, $2) ON CONFLICT (concern_id) DO NOTHING", concern_id, erased_at
        )
        await settle_facts(self._conn, [subject_key], [concern_id])

    async def apply(self, upsert: Upsert, values: tuple[Any, ...]) -> None:
        """A keyed table's write (`upserts.py`): its INSERT ... ON CONFLICT statement."""
        await self._conn.execute(upsert.sql, *values)
