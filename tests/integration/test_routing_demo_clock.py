"""The demo clock on the real PostgreSQL: open referrals' times move back, and the clocks fire through the outbox."""

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain.clock import FakeClock
from services.routing.handlers import demo_clock
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.transitions import Move, move_referral
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import Outcome, ReferralStatus
from tests.integration.test_routing_store import routing_deps
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.integration
T0 = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Copenhagen, the week before Easter
ADMIN = Principal("admin-1", Role.ADMIN)


async def _clock_events(pool) -> dict[str, list[str]]:  # noqa: ANN001
    rows = await pool.fetch(
        "SELECT event_type, o.event_id, r.severity FROM outbox_events o JOIN referrals r ON o.key = r.subject_key "
        "WHERE event_type IN ('referral.sla_breached.v1', 'referral.escalated.v1') ORDER BY o.id"
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["event_type"], []).append(row["severity"])
    return {kind: sorted(severities) for kind, severities in found.items()}


async def test_advancing_moves_open_referrals_back_and_the_clocks_remind_and_escalate(fresh_database) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as deps:
        high, medium, low = (concern_event(categories=("hoarding",), severity=s, reported_at=T0) for s in SEVERITIES)
        answered = concern_event(categories=("hoarding",), severity="high", reported_at=T0)
        done = concern_event(categories=("hoarding",), severity="high", reported_at=T0)
        await apply_concern_events(deps, [high, medium, low, answered, done])
        ids = {
            e.data.concern_id: await deps.pool.fetchval(
                "SELECT referral_id FROM referrals WHERE concern_id = $1", e.data.concern_id
            )
            for e in (high, medium, low, answered, done)
        }
        clock.advance(timedelta(minutes=5))
        await move_referral(deps, ADMIN, ids[answered.data.concern_id], Move(ReferralStatus.RECEIVED))
        for step in (ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS):
            await move_referral(deps, ADMIN, ids[done.data.concern_id], Move(step))
        completed = Move(ReferralStatus.COMPLETED, outcome=Outcome.NO_ACTION_NEEDED)
        await move_referral(deps, ADMIN, ids[done.data.concern_id], completed)

        # Tuesday before Easter + 1 working day = Wednesday: high is due (reminded), nothing escalates.
        first = await demo_clock.advance(deps, 1)
        assert (first.referrals, first.reminders_due, first.escalations_due) == (4, 1, 0)
        assert first.shifted_by == timedelta(days=1)
        assert await _clock_events(deps.pool) == {"referral.sla_breached.v1": ["high"]}

        # Wednesday + 1 working day = the Tuesday after Easter Monday: 6 days; high escalates, medium waits.
        second = await demo_clock.advance(deps, 1)
        assert second.shifted_by == timedelta(days=6)
        assert (second.reminders_due, second.escalations_due) == (0, 1)
        # Two more working days: medium (3) is due; low (6) and the acknowledged one never fire.
        third = await demo_clock.advance(deps, 2)
        assert (third.reminders_due, third.escalations_due) == (1, 0)
        assert await _clock_events(deps.pool) == {
            "referral.sla_breached.v1": ["high", "medium"],
            "referral.escalated.v1": ["high"],
        }

        assert third.shifted_by == timedelta(days=2)  # on from the Tuesday after Easter, not from today
        moved = timedelta(days=1 + 6 + 2)
        times = {
            r["concern_id"]: r
            for r in await deps.pool.fetch("SELECT concern_id, created_at, ack_due_at, breached_at FROM referrals")
        }
        assert times[low.data.concern_id]["created_at"] == T0 - moved
        # Marked by the first advance's clocks (now), then moved on with the referral by the later ones.
        assert times[high.data.concern_id]["breached_at"] == clock.now() - (moved - first.shifted_by)
        assert times[done.data.concern_id]["created_at"] == T0  # closed referrals keep their times
        changed = await deps.pool.fetchval(
            "SELECT changed_at FROM referral_transitions WHERE referral_id = $1", ids[answered.data.concern_id]
        )
        assert changed == T0 + timedelta(minutes=5) - moved  # the open referral's moves went back with it
        kept = await deps.pool.fetch(
            "SELECT changed_at FROM referral_transitions WHERE referral_id = $1", ids[done.data.concern_id]
        )
        assert {r["changed_at"] for r in kept} == {T0 + timedelta(minutes=5)}


SEVERITIES = ("high", "medium", "low")
