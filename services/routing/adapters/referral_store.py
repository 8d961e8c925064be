"""The referrals table: insert new referrals, read one or many within a scope, record moves."""

import functools
from datetime import datetime
from enum import Enum

import asyncpg

from services.routing.adapters.rows import Rows
from services.routing.domain.referral import Referral
from shared.contracts.vocabulary import ReferralStatus

ROWS = Rows(Referral)
COLUMNS = ROWS.columns


def to_referral(row: asyncpg.Record) -> Referral:
    """A Referral from a row of the referrals table."""
    return ROWS.decode(row)


# Column names come from the dataclass; values are bind parameters: one array per column, one statement per
# batch (unnest), instead of one execution per row. Categories travel comma-joined (unnest flattens nested arrays).
_TIMES = ("ack_due_at", "escalate_at", "created_at", "breached_at", "escalated_at", "concern_erased_at")
_TYPES = {
    "urgent": "boolean",
    "repeated": "boolean",
    "underretning": "boolean",
    "rules_version": "integer",
    "transitions": "integer",
} | {name: "timestamptz" for name in (*_TIMES, "receipt_due_at", "receipt_breached_at")}
_VALUES = ", ".join("string_to_array(categories, ',')" if name == "categories" else name for name in COLUMNS)


@functools.cache
def insert_sql(first: int = 1) -> str:
    """The INSERT of a batch of referrals, its parameters numbered from `$first` on (see `insert_args`)."""
    arrays = ", ".join(f"${first + i}::{_TYPES.get(name, 'text')}[]" for i, name in enumerate(COLUMNS))
    return (
        f"INSERT INTO referrals ({', '.join(COLUMNS)}) SELECT {_VALUES} "  # noqa: S608
        f"FROM unnest({arrays}) AS batch ({', '.join(COLUMNS)}) ON CONFLICT (referral_id) DO NOTHING"
    )


def _enum_value(value: Enum | None) -> str | None:
    return None if value is None else value.value


def insert_args(referrals: list[Referral]) -> list[list]:
    """The parameters of `insert_sql`: one array per column (built column by column: the batch's hot path)."""
    columns = []
    for name in COLUMNS:
        values = [getattr(r, name) for r in referrals]
        if name == "categories":  # comma-joined: unnest flattens nested arrays
            values = [",".join(c.value for c in v) for v in values]
        elif name in ROWS.enums:
            values = [_enum_value(v) for v in values]
        columns.append(values)
    return columns


async def insert_many(conn: asyncpg.Connection, referrals: list[Referral]) -> None:
    """Insert new referrals; an id that exists already is left as it is (deterministic ids)."""
    if referrals:
        await conn.execute(insert_sql(), *insert_args(referrals))


async def get(conn: asyncpg.Connection, referral_id: str, *, for_update: bool = False) -> Referral | None:
    """One referral, locked for the transaction when `for_update`."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT * FROM referrals WHERE referral_id = $1{lock}", referral_id)  # noqa: S608
    return to_referral(row) if row else None


async def save_move(conn: asyncpg.Connection, referral: Referral) -> None:
    """Persist the state a move produced."""
    await conn.execute(
        "UPDATE referrals SET status = $2, transitions = $3, outcome = $4, reject_reason = $5, updated_at = now() "
        "WHERE referral_id = $1",
        referral.referral_id,
        referral.status.value,
        referral.transitions,
        referral.outcome.value if referral.outcome else None,
        referral.reject_reason,
    )


async def record_transition(conn: asyncpg.Connection, referral: Referral, before: ReferralStatus, **move) -> None:
    """One line of the referral's history (the note stays here: it is free text, never in events or logs)."""
    await conn.execute(
        "INSERT INTO referral_transitions (referral_id, seq, from_status, to_status, reason, outcome, note, "
        "changed_by, changed_by_role, changed_at, rerouted_to) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        referral.referral_id,
        referral.transitions,
        before.value,
        referral.status.value,
        move.get("reason"),
        referral.outcome.value if referral.outcome else None,
        move.get("note"),
        move["changed_by"],
        move["changed_by_role"],
        move["changed_at"],
        move.get("rerouted_to"),
    )


async def history(conn: asyncpg.Connection, referral_id: str) -> list[dict]:
    """The referral's moves, oldest first."""
    rows = await conn.fetch(
        "SELECT seq, from_status, to_status, reason, outcome, note, changed_by_role, changed_at, rerouted_to "
        "FROM referral_transitions WHERE referral_id = $1 ORDER BY seq",
        referral_id,
    )
    return [dict(r) for r in rows]


async def lock_concern(conn: asyncpg.Connection, referral_id: str) -> list[Referral]:
    """All referrals of the referral's concern, read under the concern's lock (held to the end of the transaction);
    empty when there is no such referral.

    Moves of one concern take the same advisory lock first, so each reads what the one before it committed: row locks
    alone would not do, as a referral another move has just inserted is not in a snapshot taken before it was.
    """
    # In the select list, so that only the referral's own row takes the lock (never a scan's other rows).
    concern_id = await conn.fetchval(
        "SELECT concern_id, pg_advisory_xact_lock(hashtextextended('routing.concern:' || concern_id, 0)) "
        "FROM referrals WHERE referral_id = $1",
        referral_id,
    )
    if concern_id is None:
        return []
    rows = await conn.fetch("SELECT * FROM referrals WHERE concern_id = $1 ORDER BY referral_id FOR UPDATE", concern_id)
    return [to_referral(row) for row in rows]


async def save_merge(conn: asyncpg.Connection, referral: Referral) -> None:
    """Persist an open referral that took a re-routed one over: its task, urgency and due times."""
    await conn.execute(
        "UPDATE referrals SET task = $2, urgent = $3, ack_due_at = $4, escalate_at = $5, updated_at = now() "
        "WHERE referral_id = $1",
        referral.referral_id,
        referral.task.value,
        referral.urgent,
        referral.ack_due_at,
        referral.escalate_at,
    )


async def mark_concern_erased(conn: asyncpg.Connection, concern_id: str, at: datetime) -> int:
    """Flag the concern's referrals: its personal details are gone from intake; returns how many."""
    result = await conn.execute(
        "UPDATE referrals SET concern_erased_at = $2, updated_at = now() "
        "WHERE concern_id = $1 AND concern_erased_at IS NULL",
        concern_id,
        at,
    )
    return int(result.split()[-1])
