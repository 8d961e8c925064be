"""The demo clock (LOCAL_DEV only): the open referrals' clocks move as if N Danish working days had passed.

The stored times of every open referral (created, due, escalation, reminder and escalation marks, and the
times of its moves) go back by the span N working days take from now, in one transaction; then the clocks run
through their normal path (`scheduler.tick`: claimed, marked and written to the outbox with their events), so
notify's e-mails and webhooks and stats' counts follow as they would after a real wait. Shifting stored times,
rather than a clock offset in each process, needs no agreement between workers and survives restarts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.routing.domain.clock import working_days_span
from services.routing.domain.lifecycle import OPEN, UNACKNOWLEDGED
from services.routing.handlers import scheduler
from services.routing.handlers.deps import Deps
from shared.contracts.vocabulary import ReferralStatus

_SHIFT = """
UPDATE referrals SET created_at = created_at - $1, ack_due_at = ack_due_at - $1, escalate_at = escalate_at - $1,
    breached_at = breached_at - $1, escalated_at = escalated_at - $1, updated_at = now()
WHERE status = ANY($2::text[])
RETURNING referral_id, status, ack_due_at, escalate_at, breached_at, escalated_at
"""
_SHIFT_MOVES = "UPDATE referral_transitions SET changed_at = changed_at - $1 WHERE referral_id = ANY($2::text[])"


@dataclass(frozen=True)
class Advanced:
    """What one advance did: how far the clocks moved, how many referrals moved, what fell due."""

    working_days: int
    shifted_by: timedelta
    now: datetime
    referrals: int
    reminders_due: int
    escalations_due: int


def falls_due(row: dict, now: datetime) -> tuple[bool, bool]:
    """Whether the clocks now owe this referral its reminder and its escalation (only while unacknowledged)."""
    waiting = ReferralStatus(row["status"]) in UNACKNOWLEDGED
    reminder = waiting and row["breached_at"] is None and row["ack_due_at"] <= now
    escalation = waiting and row["escalated_at"] is None and row["escalate_at"] <= now
    return reminder, escalation


async def advance(deps: Deps, working_days: int) -> Advanced:
    """Move the open referrals' clocks `working_days` Danish working days on, then let the clocks fire."""
    now = deps.clock.now()
    span = working_days_span(now, working_days)
    async with deps.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_SHIFT, span, sorted(s.value for s in OPEN))
        await conn.execute(_SHIFT_MOVES, span, [r["referral_id"] for r in rows])
    due = [falls_due(dict(r), now) for r in rows]
    # The clocks' normal path: whichever worker claims a referral first sends it, exactly once.
    await scheduler.tick(deps)
    return Advanced(
        working_days=working_days,
        shifted_by=span,
        now=now,
        referrals=len(rows),
        reminders_due=sum(reminder for reminder, _ in due),
        escalations_due=sum(escalation for _, escalation in due),
    )
