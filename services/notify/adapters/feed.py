"""The feed in PostgreSQL: referral events numbered in commit order, read page by page per scope."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.domain.scope import EventScope, FeedFilter

# Numbers are drawn under this transaction-scoped lock, so they are handed out in commit order and a
# reader paging with `seq > cursor` can never skip a row that commits later with a smaller number.
_FEED_LOCK = 0x6E6F74696679  # "notify"


@dataclass(frozen=True)
class FeedEntry:
    """One referral event for the feed: who may see it, and the item as served."""

    scope: EventScope
    event_id: str
    time: datetime
    item: dict[str, Any]


async def append_to_feed(conn: asyncpg.Connection, entries: list[FeedEntry]) -> None:
    """Add events at the end of the feed, in order; call last in the transaction (it holds the feed lock)."""
    if not entries:
        return
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _FEED_LOCK)
    await conn.executemany(
        """INSERT INTO feed_events (seq, event_id, event_type, target, municipality_code, department_id, time, body)
           VALUES (nextval('feed_seq'), $1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING""",
        [
            (
                e.event_id,
                e.scope.event_type,
                e.scope.target,
                e.scope.municipality_code,
                e.scope.department_id,
                e.time,
                json.dumps(e.item, ensure_ascii=False),
            )
            for e in entries
        ],
    )


async def read_feed(
    pool: asyncpg.Pool, where: FeedFilter, *, after: int, limit: int, event_types: list[str] | None
) -> list[asyncpg.Record]:
    """Up to `limit` events after position `after` that the filter admits, in order."""
    return await pool.fetch(
        """SELECT seq, event_id, event_type, target, municipality_code, department_id, time, body FROM feed_events
           WHERE seq > $1 AND ($2::text IS NULL OR target = $2) AND ($3::text IS NULL OR municipality_code = $3)
             AND ($4::text[] IS NULL OR department_id = ANY($4)) AND ($5::text[] IS NULL OR event_type = ANY($5))
           ORDER BY seq LIMIT $6""",
        after,
        where.target,
        where.municipality_code,
        sorted(where.department_ids) if where.department_ids is not None else None,
        event_types,
        limit,
    )
