"""On the real PostgreSQL: a danger hint's urgent referrals and an underretning's clocks (1 working day, its receipt
within 6), reminded, escalated and reported overdue exactly once, through the outbox; a confirmed receipt stops it."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain.clock import FakeClock
from services.routing.handlers import scheduler
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.transitions import Move, move_referral
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ReferralStatus
from tests.integration.test_routing_store import routing_deps
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # Monday 09:00 in Copenhagen
HOLBAEK = Principal("holbaek-1", Role.MUNICIPALITY, municipality_code="0316")


async def _events(pool, event_type: str) -> list[dict]:  # noqa: ANN001
    rows = await pool.fetch("SELECT payload FROM outbox_events WHERE event_type = $1 ORDER BY id", event_type)
    return [json.loads(bytes(r["payload"]))["data"] for r in rows]


async def test_a_danger_hint_is_urgent_for_the_single_entry_and_the_consultant_must_call(fresh_database) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as deps:
        lonely = concern_event(categories=("loneliness",), severity="low", reported_at=T0, hints=("fire_or_gas",))
        await apply_concern_events(deps, [lonely])
        created = {e["recipient_id"]: e for e in await _events(deps.pool, "referral.created.v1")}
        single, consultant = created["municipality-0316"], created["consultant-holbaek"]
        assert (single["urgent"], single["rule_id"], single["legal_basis"]) == (True, "danger_hints", "none")
        assert (consultant["task"], consultant["urgent"]) == ("call", True)
        assert datetime.fromisoformat(single["ack_due_at"]) == T0 + timedelta(hours=1)  # not the low 6 days
        clock.advance(timedelta(hours=1, minutes=1))
        reminded, _ = await scheduler.tick(deps)
        assert reminded == 2  # the urgent two; the association's low referral waits its 6 working days


async def test_an_underretning_is_reminded_escalated_and_its_unconfirmed_receipt_reported_once(fresh_database) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as deps:
        home = concern_event(
            categories=("neglect_of_dwelling",), severity="medium", reported_at=T0, children_in_household="yes"
        )
        confirmed = concern_event(categories=("child_welfare",), severity="medium", reported_at=T0)
        await apply_concern_events(deps, [home, confirmed])
        created = [e for e in await _events(deps.pool, "referral.created.v1") if e["recipient_id"] == "children-0316"]
        assert len(created) == 2
        for event in created:
            assert (event["underretning"], event["legal_basis"], event["disclosure"]) == (
                True,
                "statutory_duty",
                "full",
            )
            assert datetime.fromisoformat(event["ack_due_at"]) == T0 + timedelta(days=1)  # Tuesday
            assert datetime.fromisoformat(event["receipt_due_at"]) == T0 + timedelta(days=8)  # Tuesday next week
        # The municipality confirms receipt of the second at once: its clocks stop.
        other = next(e for e in created if e["concern_id"] == confirmed.data.concern_id)
        clock.advance(timedelta(minutes=5))
        await move_referral(deps, HOLBAEK, other["referral_id"], Move(ReferralStatus.RECEIVED))

        clock.advance(timedelta(days=1))  # Tuesday: due, reminded
        await scheduler.tick(deps)
        clock.advance(timedelta(days=1))  # Wednesday: twice the due time, escalated
        await scheduler.tick(deps)
        clock.advance(timedelta(days=5))  # next Monday: 5 working days, receipt not yet overdue
        await scheduler.tick(deps)
        assert [e.get("clock") for e in await _events(deps.pool, "referral.sla_breached.v1")
                if e["recipient_id"] == "children-0316"] == [None]  # fmt: skip
        clock.advance(timedelta(days=1))  # Tuesday: 6 working days, the receipt is overdue
        await scheduler.tick(deps)
        await scheduler.tick(deps)  # and reported once
        breaches = [
            e for e in await _events(deps.pool, "referral.sla_breached.v1") if e["recipient_id"] == "children-0316"
        ]
        assert [e.get("clock") for e in breaches] == [None, "underretning_receipt"]
        overdue = breaches[1]
        assert overdue["concern_id"] == home.data.concern_id
        assert datetime.fromisoformat(overdue["ack_due_at"]) == T0 + timedelta(days=8)
        escalated = [
            e for e in await _events(deps.pool, "referral.escalated.v1") if e["recipient_id"] == "children-0316"
        ]
        # Only the unconfirmed one, to the municipality's escalation contact (the children entry escalates as the
        # single entry does).
        assert [(e["concern_id"], e["escalation_contact_id"]) for e in escalated] == [
            (home.data.concern_id, "escalation-municipality-0316")
        ]
