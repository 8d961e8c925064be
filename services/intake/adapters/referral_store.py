"""intake's projection of referral-events: each concern's referrals and their history."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.intake.domain.access import ReferralFacts
from shared.contracts.referrals import ReferralCreated, ReferralStatusChanged
from shared.contracts.vocabulary import Disclosure, LegalBasis, ReferralStatus, ReferralTarget


@dataclass(frozen=True)
class StoredReferral:
    """A referral as intake knows it."""

    referral_id: str
    target: str
    recipient_id: str
    department_id: str
    municipality_code: str
    categories: list[str]
    disclosure: str
    legal_basis: str
    task: str
    status: str
    created_at: datetime
    updated_at: datetime

    def facts(self) -> ReferralFacts:
        """What the access rules need."""
        return ReferralFacts(
            referral_id=self.referral_id,
            target=ReferralTarget(self.target),
            department_id=self.department_id,
            municipality_code=self.municipality_code,
            disclosure=Disclosure(self.disclosure),
            legal_basis=LegalBasis(self.legal_basis),
            status=ReferralStatus(self.status),
            categories=tuple(self.categories),
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One step in a referral's life."""

    referral_id: str
    event: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    outcome: str | None
    at: datetime


async def record_created(conn: asyncpg.Connection, event_id: str, data: ReferralCreated) -> None:
    """A new referral, status requested."""
    await conn.execute(
        """INSERT INTO referrals (referral_id, concern_id, target, recipient_id, department_id, municipality_code,
               categories, disclosure, legal_basis, task, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'requested', $11, $11)
           ON CONFLICT (referral_id) DO NOTHING""",
        data.referral_id,
        data.concern_id,
        data.target.value,
        data.recipient_id,
        data.department_id,
        data.municipality_code,
        [c.value for c in data.categories],
        data.disclosure.value,
        data.legal_basis.value,
        data.task.value,
        data.created_at,
    )
    await record_history(
        conn, event_id, data.referral_id, data.concern_id, "referred", None, "requested", None, None, data.created_at
    )


async def record_status(conn: asyncpg.Connection, event_id: str, data: ReferralStatusChanged) -> None:
    """A move along the lifecycle; a late, older change never overwrites a newer status."""
    await conn.execute(
        "UPDATE referrals SET status = $2, updated_at = $3 WHERE referral_id = $1 AND updated_at <= $3",
        data.referral_id,
        data.to_status.value,
        data.changed_at,
    )
    if data.merged_into_open and data.rerouted_to_referral_id and data.rerouted_task:
        # The recipient's open referral took the rejected one over: its task may have grown (its disclosure never).
        await conn.execute(
            "UPDATE referrals SET task = $2 WHERE referral_id = $1",
            data.rerouted_to_referral_id,
            data.rerouted_task.value,
        )
    await record_history(
        conn,
        event_id,
        data.referral_id,
        data.concern_id,
        "status_changed",
        data.from_status.value,
        data.to_status.value,
        data.reason,
        data.outcome.value if data.outcome else None,
        data.changed_at,
    )


async def record_history(
    conn: asyncpg.Connection,
    event_id: str,
    referral_id: str,
    concern_id: str,
    event: str,
    from_status: str | None,
    to_status: str | None,
    reason: str | None,
    outcome: str | None,
    at: datetime,
) -> None:
    """One history entry, once per event."""
    await conn.execute(
        """INSERT INTO referral_history (event_id, referral_id, concern_id, event, from_status, to_status, reason,
               outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        referral_id,
        concern_id,
        event,
        from_status,
        to_status,
        reason,
        outcome,
        at,
    )


async def referrals_of(conn: asyncpg.Connection | asyncpg.Pool, concern_id: str) -> list[StoredReferral]:
    """The concern's referrals, oldest first."""
    rows = await conn.fetch(
        """SELECT referral_id, target, recipient_id, department_id, municipality_code, categories, disclosure,
               legal_basis, task, status, created_at, updated_at
           FROM referrals WHERE concern_id = $1 ORDER BY created_at, referral_id""",
        concern_id,
    )
    return [StoredReferral(**dict(r)) for r in rows]


async def history_of(conn: asyncpg.Connection | asyncpg.Pool, concern_id: str) -> list[HistoryEntry]:
    """The history of the concern's referrals, oldest first."""
    rows = await conn.fetch(
        """SELECT referral_id, event, from_status, to_status, reason, outcome, at
           FROM referral_history WHERE concern_id = $1 ORDER BY at, event_id""",
        concern_id,
    )
    return [HistoryEntry(**dict(r)) for r in rows]


async def statuses_of(conn: asyncpg.Connection | asyncpg.Pool, concern_ids: list[str]) -> dict[str, list[str]]:
    """Each listed concern's referral statuses (oldest referral first), in one query."""
    rows = await conn.fetch(
        "SELECT concern_id, status FROM referrals WHERE concern_id = ANY($1::text[]) ORDER BY created_at, referral_id",
        concern_ids,
    )
    statuses: dict[str, list[str]] = {}
    for row in rows:
        statuses.setdefault(row["concern_id"], []).append(row["status"])
    return statuses
