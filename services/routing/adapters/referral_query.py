"""Listing referrals with filters, within the caller's scope (the scope clause comes from handlers.scope)."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.routing.adapters.referral_store import to_referral
from services.routing.adapters.rows import grouped
from services.routing.domain.referral import Referral
from shared.contracts.vocabulary import ReferralStatus, ReferralTarget


@dataclass(frozen=True)
class ReferralFilter:
    """What a listing asks for; None means any."""

    status: ReferralStatus | None = None
    municipality: str | None = None
    department: str | None = None
    concern_id: str | None = None
    target: ReferralTarget | None = None
    overdue: bool | None = None


async def page(
    conn: asyncpg.Connection,
    scope: tuple[str, list],
    wanted: ReferralFilter,
    *,
    now: datetime,
    limit: int,
    offset: int,
) -> list[Referral]:
    """Referrals in scope matching the filter, newest first."""
    clause, args = scope
    where = [f"({clause})"]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, value in (
        ("status", wanted.status),
        ("municipality_code", wanted.municipality),
        ("department_id", wanted.department),
        ("concern_id", wanted.concern_id),
        ("target", wanted.target),
    ):
        if value is not None:
            where.append(f"{column} = {arg(str(value))}")
    if wanted.overdue is not None:
        overdue = f"(status = 'requested' AND ack_due_at <= {arg(now)})"
        where.append(overdue if wanted.overdue else f"NOT {overdue}")
    # Column names are fixed here; every value is a bind parameter.
    sql = (
        f"SELECT * FROM referrals WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY created_at DESC, referral_id LIMIT {arg(limit)} OFFSET {arg(offset)}"
    )
    return [to_referral(row) for row in await conn.fetch(sql, *args)]


async def histories(conn: asyncpg.Connection, referral_ids: list[str]) -> dict[str, list[dict]]:
    """Each referral's moves, oldest first, in one query (a referral that never moved has an empty history)."""
    rows = await conn.fetch(
        "SELECT referral_id, seq, from_status, to_status, reason, outcome, note, changed_by_role, changed_at, "
        "rerouted_to FROM referral_transitions WHERE referral_id = ANY($1::text[]) ORDER BY referral_id, seq",
        referral_ids,
    )
    return grouped(referral_ids, rows, "referral_id", _move)


def _move(row: asyncpg.Record) -> dict:
    return {name: value for name, value in row.items() if name != "referral_id"}
