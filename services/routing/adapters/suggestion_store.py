"""The referral_suggestions table: suggestions from hints, read within a scope and decided once."""

import asyncpg

from services.routing.adapters.rows import Rows, grouped
from services.routing.domain.suggestions import Suggestion, SuggestionStatus

ROWS = Rows(Suggestion)
COLUMNS = ROWS.columns


def to_suggestion(row: asyncpg.Record) -> Suggestion:
    """A Suggestion from a row."""
    return ROWS.decode(row)


async def insert_many(conn: asyncpg.Connection, suggestions: list[Suggestion]) -> None:
    """Record new suggestions; one recorded before (a redelivery) is left as it is."""
    if not suggestions:
        return
    placeholders = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
    await conn.executemany(
        f"INSERT INTO referral_suggestions ({', '.join(COLUMNS)}) VALUES ({placeholders}) "  # noqa: S608
        "ON CONFLICT (suggestion_id) DO NOTHING",
        [ROWS.values(s) for s in suggestions],
    )


async def get(conn: asyncpg.Connection, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
    """One suggestion, locked for the transaction when `for_update`."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM referral_suggestions WHERE suggestion_id = $1{lock}",  # noqa: S608
        suggestion_id,
    )
    return to_suggestion(row) if row else None


async def of_concerns(conn: asyncpg.Connection, concern_ids: list[str]) -> dict[str, list[Suggestion]]:
    """The suggestions of each concern, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM referral_suggestions WHERE concern_id = ANY($1::text[]) "
        "ORDER BY concern_id, created_at, suggestion_id",
        concern_ids,
    )
    return grouped(concern_ids, rows, "concern_id", to_suggestion)


async def page(
    conn: asyncpg.Connection,
    department_ids: list[str] | None,
    *,
    concern_id: str | None,
    status: SuggestionStatus | None,
    limit: int,
    offset: int,
) -> list[Suggestion]:
    """Suggestions of the given departments (None: every department), newest first."""
    rows = await conn.fetch(
        "SELECT * FROM referral_suggestions WHERE ($1::text[] IS NULL OR department_id = ANY($1::text[])) "
        "AND ($2::text IS NULL OR concern_id = $2) AND ($3::text IS NULL OR status = $3) "
        "ORDER BY created_at DESC, suggestion_id LIMIT $4 OFFSET $5",
        department_ids,
        concern_id,
        status.value if status else None,
        limit,
        offset,
    )
    return [to_suggestion(r) for r in rows]


async def save_decision(conn: asyncpg.Connection, suggestion: Suggestion) -> None:
    """Persist a decision (who, when, why, and the referral that carries a confirmation): the audit record."""
    await conn.execute(
        "UPDATE referral_suggestions SET status = $2, decided_at = $3, decided_by = $4, decided_by_role = $5, "
        "reason = $6, referral_id = $7 WHERE suggestion_id = $1 AND status = 'open'",
        suggestion.suggestion_id,
        suggestion.status.value,
        suggestion.decided_at,
        suggestion.decided_by,
        suggestion.decided_by_role,
        suggestion.reason,
        suggestion.referral_id,
    )
