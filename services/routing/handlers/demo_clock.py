"""The demo clock (LOCAL_DEV only): the open referrals' clocks move as if N Danish working days had passed.

The stored times of every open referral (created, due, escalation, reminder and escalation marks, and the
times of its moves) go back, in one unit of work (its `clocks`), by the span N working days take from the referral's own
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
            async with deps.unit_of_work() as uow:
                open_referrals = await uow.clocks.lock_open(sorted(s.value for s in OPEN))
                # Each referral's clock goes on from where earlier advances left it: its own "now" is now + its shift.
                spans = [working_days_span(now + shifted_by, working_days) for _, shifted_by in open_referrals]
                rows = await uow.clocks.shift([(r, span) for (r, _), span in zip(open_referrals, spans, strict=True)])
    due = [falls_due(row, now) for row in rows]
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
