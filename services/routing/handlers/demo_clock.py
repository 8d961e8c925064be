"""The demo clock (LOCAL_DEV only): the open referrals' clocks move as if N Danish working days had passed.

The stored times of every open referral (created, due, escalation, reminder and escalation marks, and the
times of its moves) go back, in one transaction, by the span N working days take from the referral's own
"now" (now plus what earlier advances moved it, kept in `demo_clock_shifts`: two advances of one working day
are one of two). Then the clocks run through their normal path (`scheduler.tick`: claimed, marked and written
to the outbox with their events), so notify's e-mails and webhooks and stats' counts follow as they would
after a real wait. Shifting stored times, rather than a clock offset in each process, needs no agreement
between workers and survives restarts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from services.routing.domain.clock import working_days_span
from services.routing.domain.lifecycle import OPEN, UNACKNOWLEDGED
from services.routing.handlers import scheduler
from services.routing.handlers.deps import Deps
from shared.contracts.vocabulary import ReferralStatus

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


@dataclass(frozen=True)
class Advanced:
    """What one advance did: how far the clocks moved, how many referrals moved, what fell due."""

    working_days: int
    shifted_by: timedelta
    """The span of the referral moved furthest (from where earlier advances had left its clock)."""
    now: datetime
    referrals: int
    reminders_due: int
    escalations_due: int


def falls_due(row: dict, now: datetime) -> tuple[int, bool]:
    """The reminders the clocks now owe this referral (its acknowledgement's, and an underretning's unconfirmed
    receipt's: both are referral.sla_breached.v1) and whether its escalation; only while unacknowledged."""
    waiting = ReferralStatus(row["status"]) in UNACKNOWLEDGED
    reminder = waiting and row["breached_at"] is None and row["ack_due_at"] <= now
    receipt = row.get("receipt_due_at")
    unconfirmed = bool(row.get("underretning")) and waiting and row.get("receipt_breached_at") is None
    receipt_reminder = unconfirmed and receipt is not None and receipt <= now
    escalation = waiting and row["escalated_at"] is None and row["escalate_at"] <= now
    return int(reminder) + int(receipt_reminder), escalation


async def advance(deps: Deps, working_days: int) -> Advanced:
    """Move the open referrals' clocks `working_days` Danish working days on, then let the clocks fire."""
    now = deps.clock.now()
    # It locks every open referral; a move locking a concern's referrals meanwhile may deadlock with it (the
    # database then aborts one of the two): this side tries again.
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(asyncpg.DeadlockDetectedError),
        stop=stop_after_attempt(3),
        wait=wait_exponential_jitter(multiplier=0.05, max=1),
        reraise=True,
    ):
        with attempt:
            async with deps.pool.acquire() as conn, conn.transaction():
                open_referrals = await conn.fetch(_OPEN, sorted(s.value for s in OPEN))
                # Each referral's clock goes on from where earlier advances left it: its own "now" is now + its shift.
                spans = [working_days_span(now + r["shifted_by"], working_days) for r in open_referrals]
                rows = await conn.fetch(_SHIFT, [r["referral_id"] for r in open_referrals], spans)
    due = [falls_due(dict(r), now) for r in rows]
    # The clocks' normal path: whichever worker claims a referral first sends it, exactly once.
    await scheduler.tick(deps)
    return Advanced(
        working_days=working_days,
        shifted_by=max(spans, default=working_days_span(now, working_days)),
        now=now,
        referrals=len(rows),
        reminders_due=sum(reminder for reminder, _ in due),
        escalations_due=sum(escalation for _, escalation in due),
    )
