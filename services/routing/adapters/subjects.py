"""The subject_concerns table: the source of truth of the repeat rule's 90-day windows."""

from collections import defaultdict
from datetime import datetime

import asyncpg

from services.routing.domain.repeats import REPEAT_WINDOW


async def record(conn: asyncpg.Connection, concerns: list[tuple[str, str, datetime]]) -> None:
    """Remember (subject_key, concern_id, reported_at) of applied concerns (idempotent)."""
    if concerns:
        keys, ids, times = zip(*concerns, strict=True)
        await conn.execute(
            "INSERT INTO subject_concerns (subject_key, concern_id, reported_at) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING",
            list(keys),
            list(ids),
            list(times),
        )


async def windows(conn: asyncpg.Connection, subject_keys: list[str], since: datetime) -> dict[str, list[datetime]]:
    """Each subject's concern times from 90 days before `since` (the earliest concern of the batch) on."""
    rows = await conn.fetch(
        "SELECT subject_key, reported_at FROM subject_concerns WHERE subject_key = ANY($1::text[]) "
        "AND reported_at > $2::timestamptz - $3::interval ORDER BY reported_at",
        subject_keys,
        since,
        REPEAT_WINDOW,
    )
    found: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        found[row["subject_key"]].append(row["reported_at"])
    return found


async def record_and_read(
    conn: asyncpg.Connection,
    concerns: list[tuple[str, str, datetime]],
    subject_keys: list[str],
    after: datetime,
) -> tuple[dict[str, dict[str, datetime]], set[str]]:
    """Remember the applied concerns (as `record`) and, in the same statement, read the concerns (id ->
    reported_at) of `subject_keys` reported after `after` as they were before this statement. Also answers which
    of `concerns` were recorded before: the same concern delivered under another event id, routed already.

    A concern erased since (its subject_concerns row is gone, its referrals are marked) is not recorded again and
    counts as routed already: delivered again, it is neither routed anew nor counted towards its subject's repeats.
    """
    keys, ids, times = zip(*concerns, strict=True) if concerns else ((), (), ())
    rows = await conn.fetch(
        "WITH erased AS (SELECT DISTINCT concern_id FROM referrals WHERE concern_id = ANY($2::text[]) "
        "AND concern_erased_at IS NOT NULL), "
        "recorded AS (INSERT INTO subject_concerns (subject_key, concern_id, reported_at) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS c (subject_key, concern_id, reported_at) "
        "WHERE c.concern_id NOT IN (SELECT concern_id FROM erased) ON CONFLICT DO NOTHING RETURNING concern_id) "
        "SELECT subject_key, concern_id, reported_at FROM subject_concerns WHERE subject_key = ANY($4::text[]) "
        "AND reported_at > $5::timestamptz "
        "UNION ALL SELECT NULL, concern_id, NULL FROM recorded",
        list(keys),
        list(ids),
        list(times),
        subject_keys,
        after,
    )
    found: dict[str, dict[str, datetime]] = defaultdict(dict)
    fresh: set[str] = set()
    for row in rows:
        if row["subject_key"] is None:
            fresh.add(row["concern_id"])
        else:
            found[row["subject_key"]][row["concern_id"]] = row["reported_at"]
    return found, set(ids) - fresh


async def forget(conn: asyncpg.Connection, concern_id: str) -> str | None:
    """Erasure: the concern no longer counts towards its subject's repeats; returns its subject key."""
    return await conn.fetchval("DELETE FROM subject_concerns WHERE concern_id = $1 RETURNING subject_key", concern_id)
