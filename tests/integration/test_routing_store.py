"""Routing's handlers against the real PostgreSQL (and the relay against the real broker)."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.routing.adapters import rules_store
from services.routing.domain.clock import FakeClock
from services.routing.domain.lifecycle import IllegalTransition
from services.routing.handlers import scheduler
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.deps import Deps, RulesInForce
from services.routing.handlers.transitions import Move, move_referral
from services.routing.settings import DEFAULT_RULES
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ReferralStatus
from tests.support.reference import owner_holder
from tests.support.routing_events import concern_event, erased_event, subject

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Copenhagen


@contextlib.asynccontextmanager
async def routing_deps(url: str, clock: FakeClock, topic: str = "referral-events"):
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    await rules_store.seed(pool, rules_store.load_file(DEFAULT_RULES))
    try:
        yield Deps(pool, clock, RulesInForce(owner_holder()), "routing-service", topic, "/services/routing")
    finally:
        await pool.close()


async def outbox_types(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT event_type, event_id FROM outbox_events ORDER BY id")
    return [(r["event_type"], r["event_id"]) for r in rows]


async def test_a_concern_delivered_three_times_gives_one_set_of_referrals(fresh_database) -> None:
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(T0)) as deps:
        event = concern_event(categories=("rent_arrears", "mental_health"), consent="not_asked", reported_at=T0)
        await apply_concern_events(deps, [event, event])
        await apply_concern_events(deps, [event])
        rows = await deps.pool.fetch("SELECT target, recipient_id, task, legal_basis FROM referrals ORDER BY target")
        assert [tuple(r) for r in rows] == [
            ("consultant", "consultant-holbaek", "obtain_consent", "none"),
            ("municipality", "municipality-0316", "act", "statutory_duty"),
        ]
        events = await outbox_types(deps.pool)
        assert [t for t, _ in events] == ["referral.created.v1"] * 2 and len({i for _, i in events}) == 2


async def test_third_concern_within_90_days_is_repeated_and_an_erased_one_no_longer_counts(fresh_database) -> None:
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(T0)) as deps:
        repeated_key, erased_key = subject(), subject()

        def three(key):
            return [
                concern_event(
                    categories=("noise",), severity="low", subject_key=key, reported_at=T0 - timedelta(days=d)
                )
                for d in (80, 20, 0)
            ]

        first, second = three(repeated_key), three(erased_key)
        await apply_concern_events(deps, first[:2])
        windows = await apply_concern_events(deps, [first[2]])
        assert len(windows[repeated_key]) == 3
        rows = await deps.pool.fetch(
            "SELECT severity, repeated FROM referrals WHERE concern_id = ANY($1::text[]) ORDER BY created_at",
            [e.data.concern_id for e in first],
        )
        assert [(r["severity"], r["repeated"]) for r in rows] == [("low", False), ("low", False), ("medium", True)]

        await apply_concern_events(deps, second[:2])
        windows = await apply_concern_events(deps, [erased_event(second[0])])
        assert len(windows[erased_key]) == 1
        await apply_concern_events(deps, [second[2]])
        flags = await deps.pool.fetch(
            "SELECT concern_id, repeated, concern_erased_at IS NOT NULL AS erased FROM referrals "
            "WHERE concern_id = ANY($1::text[])",
            [e.data.concern_id for e in second],
        )
        by_concern = {r["concern_id"]: (r["repeated"], r["erased"]) for r in flags}
        assert by_concern[second[0].data.concern_id] == (False, True)  # kept (no personal data), flagged
        assert by_concern[second[2].data.concern_id] == (False, False)  # the erased one no longer counts


async def test_an_erasure_within_a_batch_takes_effect_between_the_reports_around_it(fresh_database) -> None:
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(T0)) as deps:
        key = subject()
        first, second, third = (
            concern_event(severity="low", subject_key=key, reported_at=T0 - timedelta(days=days))
            for days in (80, 20, 0)
        )
        await apply_concern_events(deps, [first, second, erased_event(first), third])
        rows = await deps.pool.fetch(
            "SELECT concern_id, repeated, concern_erased_at IS NOT NULL AS erased FROM referrals"
        )
        flags = {r["concern_id"]: (r["repeated"], r["erased"]) for r in rows}
        assert flags == {
            first.data.concern_id: (False, True),
            second.data.concern_id: (False, False),
            third.data.concern_id: (False, False),  # the erased concern no longer counts
        }


async def test_breach_and_escalation_fire_once_each_with_two_workers(fresh_database) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as one, routing_deps(url, clock) as two:
        concerns = [concern_event(categories=("hoarding",), severity="high", reported_at=T0) for _ in range(30)]
        urgent = concern_event(categories=("threats_or_violence",), severity="medium", reported_at=T0)
        await apply_concern_events(one, [*concerns, urgent])
        received = await one.pool.fetchval(
            "SELECT referral_id FROM referrals WHERE concern_id = $1", concerns[0].data.concern_id
        )
        admin = Principal("admin-1", Role.ADMIN)
        await move_referral(one, admin, received, Move(ReferralStatus.RECEIVED))  # acknowledged: no clock

        async def both_workers() -> None:
            await asyncio.gather(*(scheduler.tick(deps) for deps in (one, two, one, two)))

        clock.advance(timedelta(minutes=59))
        await both_workers()
        assert await one.pool.fetchval("SELECT count(*) FROM outbox_events WHERE event_type LIKE 'referral.sla%'") == 0
        clock.advance(timedelta(minutes=2))  # the urgent ones: due after 1 hour, escalate after 2
        await both_workers()
        clock.current = datetime(2025, 3, 5, 8, 1, tzinfo=UTC)  # Wednesday 09:01: one working day later
        await both_workers()
        clock.current = datetime(2025, 3, 6, 8, 1, tzinfo=UTC)  # Thursday 09:01: twice the due time
        await both_workers()
        await both_workers()
        rows = await one.pool.fetch(
            "SELECT event_type, count(*) AS n, count(DISTINCT event_id) AS distinct_ids FROM outbox_events "
            "WHERE event_type IN ('referral.sla_breached.v1', 'referral.escalated.v1') GROUP BY 1"
        )
        open_referrals = 29 + 2  # 30 hoarding referrals less the acknowledged one, plus the 2 urgent ones
        assert {r["event_type"]: (r["n"], r["distinct_ids"]) for r in rows} == {
            "referral.sla_breached.v1": (open_referrals, open_referrals),
            "referral.escalated.v1": (open_referrals, open_referrals),
        }
        contacts = await one.pool.fetch(
            "SELECT DISTINCT escalation_contact_id FROM referrals WHERE escalated_at IS NOT NULL"
        )
        assert {r["escalation_contact_id"] for r in contacts} == {
            "escalation-consultant-holbaek",
            "escalation-municipality-0316",
        }
        assert await one.pool.fetchval("SELECT breached_at FROM referrals WHERE referral_id = $1", received) is None


async def test_rejection_reroutes_along_the_fallback_chain_until_the_last_resort(fresh_database) -> None:
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(T0)) as deps:
        concern = concern_event(categories=("loneliness",), consent="given", reported_at=T0)
        await apply_concern_events(deps, [concern])
        current = await deps.pool.fetchval("SELECT referral_id FROM referrals")
        admin = Principal("admin-1", Role.ADMIN)
        chain = []
        for _ in range(2):
            await move_referral(deps, admin, current, Move(ReferralStatus.RECEIVED))
            moved = await move_referral(deps, admin, current, Move(ReferralStatus.REJECTED, reason="capacity"))
            replacement = moved.rerouted_to
            chain.append((replacement.target.value, replacement.recipient_id, replacement.disclosure.value))
            assert replacement.replaces_referral_id == current and replacement.rule_id.startswith("fallback_")
            current = replacement.referral_id
        assert chain == [
            ("consultant", "consultant-holbaek", "full"),
            ("consultant", "escalation-consultant-holbaek", "full"),
        ]
        await move_referral(deps, admin, current, Move(ReferralStatus.RECEIVED))
        with pytest.raises(IllegalTransition, match="last resort"):
            await move_referral(deps, admin, current, Move(ReferralStatus.REJECTED, reason="capacity"))
        assert await deps.pool.fetchval("SELECT status FROM referrals WHERE referral_id = $1", current) == "received"
        created = await deps.pool.fetchval(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'referral.created.v1'"
        )
        assert created == 3
