"""Issue 15, point 3 against the real PostgreSQL: random moves, rejections and clocks through the handlers never leave
a concern with two open referrals to one recipient, with a weaker task or a stronger basis, or with nothing open."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, event, given, settings

from services.routing.adapters import rules_store
from services.routing.adapters.referral_store import to_referral
from services.routing.domain.clock import FakeClock
from services.routing.domain.lifecycle import OPEN, IllegalTransition
from services.routing.domain.referral import Referral
from services.routing.handlers import scheduler
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.deps import Deps, RulesInForce
from services.routing.handlers.transitions import Move, move_referral
from services.routing.settings import DEFAULT_RULES
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ReferralStatus as S
from shared.contracts.vocabulary import ReferralTarget
from tests.support.databases import migrated_database
from tests.support.reference import owner_holder
from tests.support.routing_events import concern_event, erased_event
from tests.support.routing_invariants import Reroute, concerns, moves_of, pick, steps, violations

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Copenhagen
ADMIN = Principal("admin-1", Role.ADMIN)


async def _referrals(pool: asyncpg.Pool, concern_id: str) -> list[Referral]:
    rows = await pool.fetch("SELECT * FROM referrals WHERE concern_id = $1", concern_id)
    return [to_referral(row) for row in rows]


async def _play(url: str, concern: dict, script: list) -> None:
    """Route the concern, apply the script through move_referral and the clocks, check after every step."""
    clock = FakeClock(T0)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        deps = Deps(
            pool, clock, RulesInForce(owner_holder()), "routing-service", "referral-events", "/services/routing"
        )
        reported = concern_event(reported_at=T0, **concern)
        concern_id = reported.data.concern_id
        await apply_concern_events(deps, [reported])
        reroutes: list[Reroute] = []
        for intent, index, reason, outcome in script:
            if intent == "clock":
                clock.advance(timedelta(days=4))  # past the due time and twice it, for most severities
                await scheduler.tick(deps)
                continue
            if intent == "erase":
                await apply_concern_events(deps, [erased_event(reported)])
                assert not violations(await _referrals(pool, concern_id), reroutes)
                continue
            target = pick(await _referrals(pool, concern_id), index)
            for to, why, how in moves_of(intent, target, reason, outcome):
                current = await _referrals(pool, concern_id)
                try:
                    moved = await move_referral(deps, ADMIN, target.referral_id, Move(to, reason=why, outcome=how))
                except IllegalTransition:
                    assert await _referrals(pool, concern_id) == current, "a refused move changed something"
                    break
                if moved.rerouted_to is not None:
                    before = {r.referral_id: r for r in current}
                    carried = moved.rerouted_to
                    merged = before.get(carried.referral_id)
                    rejected = before[target.referral_id]
                    reroutes.append(Reroute(rejected, carried, merged if merged and merged.status in OPEN else None))
                    event("re-route merged" if merged else "re-route created")
                    recorded = await pool.fetchval(
                        "SELECT rerouted_to FROM referral_transitions WHERE referral_id = $1 AND to_status = $2",
                        target.referral_id,
                        "rejected",
                    )
                    assert recorded == carried.referral_id
                wrong = violations(await _referrals(pool, concern_id), reroutes)
                assert not wrong, (
                    f"{wrong}; concern {concern}; steps {[(i, n, str(r), str(o)) for i, n, r, o in script]}"
                )
        # Replays of the concern (the same event, and the same concern under a new event id) add nothing.
        settled = sorted(await _referrals(pool, concern_id), key=lambda r: r.referral_id)
        await apply_concern_events(deps, [reported, reported.model_copy(update={"id": str(uuid.uuid4())})])
        assert sorted(await _referrals(pool, concern_id), key=lambda r: r.referral_id) == settled
        erased = any(r.concern_erased_at for r in settled)  # an erased concern no longer counts towards repeats
        counted = await pool.fetchval("SELECT count(*) FROM subject_concerns WHERE concern_id = $1", concern_id)
        assert counted == (0 if erased else 1)
    finally:
        await pool.close()


def test_random_moves_through_the_handlers_keep_the_reroute_invariants(admin_database_url: str) -> None:
    """Hypothesis drives move_referral and the clocks on one migrated database, a new concern per example."""
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner())
        database = migrated_database(admin_database_url, "routing")
        url = runner.run(database.__aenter__())
        stack.callback(lambda: runner.run(database.__aexit__(None, None, None)))

        async def seed() -> None:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
            try:
                await rules_store.seed(pool, rules_store.load_file(DEFAULT_RULES))
            finally:
                await pool.close()

        runner.run(seed())

        @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(concern=concerns(), script=steps)
        def play(concern: dict, script: list) -> None:
            runner.run(_play(url, concern, script))

        play()


async def test_two_rejections_at_once_to_one_recipient_give_one_open_referral(fresh_database) -> None:
    """The association and the municipality reject at the same moment; both chains lead to the consultant."""
    async with fresh_database("routing") as url:
        pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
        try:
            await rules_store.seed(pool, rules_store.load_file(DEFAULT_RULES))
            deps = Deps(
                pool,
                FakeClock(T0),
                RulesInForce(owner_holder()),
                "routing-service",
                "referral-events",
                "/services/routing",
            )
            for _ in range(5):
                reported = concern_event(categories=("loneliness", "mental_health"), consent="given", reported_at=T0)
                await apply_concern_events(deps, [reported])
                first = await _referrals(pool, reported.data.concern_id)
                assert sorted(r.recipient_id for r in first) == ["association-holbaek-naboskab", "municipality-0316"]
                for r in first:
                    await move_referral(deps, ADMIN, r.referral_id, Move(S.RECEIVED))
                rejections = [Move(S.REJECTED, reason="capacity")] * 2
                moved = await asyncio.gather(
                    *(move_referral(deps, ADMIN, r.referral_id, m) for r, m in zip(first, rejections, strict=True))
                )
                assert {m.rerouted_to.referral_id for m in moved} == {moved[0].rerouted_to.referral_id}
                after = await _referrals(pool, reported.data.concern_id)
                assert [r.recipient_id for r in after if r.status in OPEN] == ["consultant-holbaek"]
                assert not violations(after, [])
        finally:
            await pool.close()


@pytest.mark.parametrize("erased", [False, True], ids=["kept", "erased"])
async def test_a_concern_delivered_again_under_a_new_event_id_and_newer_rules_gets_no_second_set(
    fresh_database, erased: bool
) -> None:
    """The concern was routed (and re-routed); the same concern under another event id, after the rules changed so
    that it would go elsewhere too, adds nothing: neither a second referral nor one the unique index would refuse.
    Nor after its erasure: it was routed anew (a referral with full disclosure of erased details) and counted
    towards its tenancy's repeats again."""
    async with fresh_database("routing") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            rules = rules_store.load_file(DEFAULT_RULES)
            await rules_store.seed(pool, rules)
            deps = Deps(
                pool,
                FakeClock(T0),
                RulesInForce(owner_holder()),
                "routing-service",
                "referral-events",
                "/services/routing",
            )
            reported = concern_event(categories=("noise",), reported_at=T0)
            await apply_concern_events(deps, [reported])
            (consultant,) = await _referrals(pool, reported.data.concern_id)
            await move_referral(deps, ADMIN, consultant.referral_id, Move(S.RECEIVED))
            await move_referral(deps, ADMIN, consultant.referral_id, Move(S.REJECTED, reason="capacity"))
            if erased:
                await apply_concern_events(deps, [erased_event(reported)])
            # Version 2: noise goes to the consultant (again) and to the municipality.
            noise = next(r for r in rules.rules if r.id == "neighbour_conflict_noise")
            wider = noise.model_copy(
                update={
                    "refer": (*noise.refer, noise.refer[0].model_copy(update={"target": ReferralTarget.MUNICIPALITY}))
                }
            )
            v2 = rules.model_copy(update={"rules": tuple(wider if r.id == noise.id else r for r in rules.rules)})
            async with pool.acquire() as conn, conn.transaction():
                assert await rules_store.store(conn, v2, created_by="test") == 2
            before = await _referrals(pool, reported.data.concern_id)
            again = reported.model_copy(update={"id": str(uuid.uuid4())})
            await apply_concern_events(deps, [again])
            assert await _referrals(pool, reported.data.concern_id) == before
            assert not violations(before, [])
            counted = "SELECT count(*) FROM subject_concerns WHERE concern_id = $1"
            assert await pool.fetchval(counted, reported.data.concern_id) == (0 if erased else 1)
        finally:
            await pool.close()


async def test_an_erased_concern_delivered_again_does_not_make_a_later_one_a_repeat(fresh_database) -> None:
    """A tenancy's first two concerns, the first erased; the first delivered again (another event id) in the batch
    of a third: the third is the tenancy's second concern within 90 days, not a third (a repeat)."""
    async with fresh_database("routing") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            await rules_store.seed(pool, rules_store.load_file(DEFAULT_RULES))
            deps = Deps(
                pool,
                FakeClock(T0 + timedelta(days=2)),
                RulesInForce(owner_holder()),
                "routing-service",
                "referral-events",
                "/services/routing",
            )
            key = "sk_" + uuid.uuid4().hex[:32]
            first, second = (concern_event(subject_key=key, reported_at=T0 + timedelta(hours=h)) for h in (1, 2))
            await apply_concern_events(deps, [first, second])
            await apply_concern_events(deps, [erased_event(first)])
            third = concern_event(subject_key=key, reported_at=T0 + timedelta(hours=3))
            await apply_concern_events(deps, [first.model_copy(update={"id": str(uuid.uuid4())}), third])
            (referral,) = await _referrals(pool, third.data.concern_id)
            assert referral.repeated is False, "the erased concern counted towards the tenancy's repeats"
        finally:
            await pool.close()
