"""The referrals' clocks in PostgreSQL: claiming what fell due (FOR UPDATE SKIP LOCKED, marked in the claim's
statement) and the demo clock's shift of every stored time."""

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.routing.adapters.referral_store import to_referral
from services.routing.domain.referral import Referral

_CLAIM = """
UPDATE referrals SET {mark} = $1, updated_at = now()
WHERE referral_id IN (
    SELECT referral_id FROM referrals
    WHERE {only}status = 'requested' AND {mark} IS NULL AND {due} <= $1
    ORDER BY {due} LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING *
"""
CLAIMS = {
    "reminder": _CLAIM.format(mark="breached_at", due="ack_due_at", only=""),
    "escalation": _CLAIM.format(mark="escalated_at", due="escalate_at", only=""),
    "receipt": _CLAIM.format(mark="receipt_breached_at", due="receipt_due_at", only="underretning AND "),
}
"""Each clock's claim: marks up to $2 referrals due by $1 and returns their rows."""

_OPEN = """
SELECT r.referral_id, coalesce(d.shifted_by, interval '0') AS shifted_by
FROM referrals r LEFT JOIN demo_clock_shifts d USING (referral_id)
WHERE r.status = ANY($1::text[]) ORDER BY r.referral_id FOR UPDATE OF r
"""
_SHIFT = """
WITH moves AS (SELECT * FROM unnest($1::text[], $2::interval[]) AS m (referral_id, span)),
recorded AS (
    INSERT INTO demo_clock_shifts (referral_id, shifted_by) SELECT referral_id, span FROM moves
    ON CONFLICT (referral_id) DO UPDATE SET shifted_by = demo_clock_shifts.shifted_by + excluded.shifted_by
),
moved_times AS (
    UPDATE referral_transitions t SET changed_at = t.changed_at - m.span
    FROM moves m WHERE t.referral_id = m.referral_id
)
UPDATE referrals r SET created_at = r.created_at - m.span, ack_due_at = r.ack_due_at - m.span,
    escalate_at = r.escalate_at - m.span, breached_at = r.breached_at - m.span,
    escalated_at = r.escalated_at - m.span, receipt_due_at = r.receipt_due_at - m.span,
    receipt_breached_at = r.receipt_breached_at - m.span, updated_at = now()
FROM moves m WHERE r.referral_id = m.referral_id
RETURNING r.status, r.ack_due_at, r.escalate_at, r.breached_at, r.escalated_at, r.underretning, r.receipt_due_at,
    r.receipt_breached_at
"""


class PostgresClocks:
    """Clocks on the `referrals`, `referral_transitions` and `demo_clock_shifts` tables."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def claim_due(self, clock: str, now: datetime, limit: int) -> list[Referral]:
        return [to_referral(row) for row in await self._conn.fetch(CLAIMS[clock], now, limit)]

    async def set_escalation_contact(self, referral_id: str, contact: str) -> None:
        await self._conn.execute(
            "UPDATE referrals SET escalation_contact_id = $2 WHERE referral_id = $1", referral_id, contact
        )

    async def open_by_age(
        self, now: datetime, statuses: list[str], buckets: tuple[tuple[str, str], ...]
    ) -> dict[tuple[str, str], int]:
        # The buckets are the service's constants (names and spans such as '3 days'), so they are written in.
        cases = " ".join(
            f"WHEN created_at > $1::timestamptz - interval '{span}' THEN '{name}'" for name, span in buckets
        )
        rows = await self._conn.fetch(
            f"SELECT target, CASE {cases} ELSE 'gte_30d' END AS age, count(*) AS n FROM referrals "  # noqa: S608
            "WHERE status = ANY($2::text[]) GROUP BY 1, 2",
            now,
            statuses,
        )
        return {(row["target"], row["age"]): row["n"] for row in rows}

    async def overdue(self, now: datetime) -> dict[tuple[str, str], int]:
        rows = await self._conn.fetch(
            "SELECT target, severity, count(*) AS n FROM referrals "
            "WHERE status = 'requested' AND ack_due_at <= $1 GROUP BY 1, 2",
            now,
        )
        return {(row["target"], row["severity"]): row["n"] for row in rows}

    async def lock_open(self, statuses: list[str]) -> list[tuple[str, timedelta]]:
        return [(row["referral_id"], row["shifted_by"]) for row in await self._conn.fetch(_OPEN, statuses)]

    async def shift(self, moves: list[tuple[str, timedelta]]) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(_SHIFT, [m[0] for m in moves], [m[1] for m in moves])
        return [dict(row) for row in rows]
