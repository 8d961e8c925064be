"""Routing's concern batches through the in-memory unit of work: referrals and their events for a reported concern,
once (a replay or the same concern under another event id routes nothing more), the repeat rule's window from the
subjects' concerns, erasure, suggestions, and an unroutable concern leaving nothing behind. No PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain.clock import FakeClock
from services.routing.domain.suggestions import SUGGESTING_HINTS
from services.routing.handlers.concerns import UnroutableConcern, apply_concern_events
from services.routing.handlers.deps import Deps, RulesInForce
from services.routing.handlers.ports import InMemoryUnitOfWork
from shared.contracts.envelope import make_event
from tests.support.routing_events import HOLBAEK, concern_event, erased_event, subject
from tests.unit.test_routing_rules import RULES

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)


def fake() -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork(rules=(1, RULES))
    rules = RulesInForce(None)  # type: ignore[arg-type] - decides only: the fake unit gives the document
    deps = Deps(None, FakeClock(T0 + timedelta(days=1)), rules, "routing", "referral-events", "/services/routing",  # type: ignore[arg-type]
                uow=uow)  # fmt: skip
    return deps, uow


def of_concern(uow: InMemoryUnitOfWork, concern_id: str) -> list:
    return sorted((r for r in uow.tables.referrals.values() if r.concern_id == concern_id), key=lambda r: r.target)


async def test_a_reported_concern_gets_its_referrals_and_their_events_in_one_unit() -> None:
    deps, uow = fake()
    reported = concern_event(categories=("rent_arrears", "eviction_risk"), severity="high", reported_at=T0)

    windows = await apply_concern_events(deps, [reported])

    referrals = of_concern(uow, reported.data.concern_id)
    assert referrals and all(not r.repeated for r in referrals)
    assert sorted(e.data.referral_id for e in uow.tables.outbox) == sorted(r.referral_id for r in referrals)
    assert {e.type for e in uow.tables.outbox} == {"referral.created.v1"}
    assert all(e.subject == reported.subject for e in uow.tables.outbox)  # keyed by the subject, as intake's
    assert uow.tables.subjects == {(reported.subject, reported.data.concern_id): T0}
    assert windows == {reported.subject: [T0]} and uow.commits == 1


async def test_a_replay_and_the_same_concern_under_another_event_id_route_nothing_more() -> None:
    deps, uow = fake()
    reported = concern_event(reported_at=T0)
    await apply_concern_events(deps, [reported])
    before = (dict(uow.tables.referrals), list(uow.tables.outbox))
    again = make_event(reported.data, source=reported.source, subject=reported.subject, time=reported.time)

    await apply_concern_events(deps, [reported])
    await apply_concern_events(deps, [again])
    await apply_concern_events(
        deps, [again, make_event(reported.data, source=reported.source, subject=reported.subject)]
    )

    assert (uow.tables.referrals, uow.tables.outbox) == before


@pytest.mark.parametrize("tenancy", [True, False])
async def test_the_third_concern_about_one_tenancy_within_90_days_is_a_repeat(tenancy: bool) -> None:
    deps, uow = fake()
    key = subject()
    days = [0, 40, 80, 200]  # the fourth is 120 days after the second: no longer three in its window
    events = [
        concern_event(subject_key=key, reported_at=T0 + timedelta(days=d), subject_is_tenancy=tenancy or False)
        for d in days
    ]
    await apply_concern_events(deps, events[:1])
    await apply_concern_events(deps, events[1:])  # the run and the stored ones both count

    repeated = [any(r.repeated for r in of_concern(uow, e.data.concern_id)) for e in events]
    assert repeated == ([False, False, True, False] if tenancy else [False] * 4)


async def test_an_erased_concern_flags_its_referrals_counts_no_more_and_is_not_routed_again() -> None:
    deps, uow = fake()
    key = subject()
    first, second = (concern_event(subject_key=key, reported_at=T0 + timedelta(days=d)) for d in (0, 1))
    await apply_concern_events(deps, [first, second])

    windows = await apply_concern_events(deps, [erased_event(first)])

    assert all(r.concern_erased_at is not None for r in of_concern(uow, first.data.concern_id))
    assert all(r.concern_erased_at is None for r in of_concern(uow, second.data.concern_id))
    assert set(uow.tables.subjects) == {(key, second.data.concern_id)}
    assert windows == {key: [T0 + timedelta(days=1)]}
    created = len(uow.tables.outbox)
    third = concern_event(subject_key=key, reported_at=T0 + timedelta(days=2))
    redelivered = make_event(first.data, source=first.source, subject=key)
    await apply_concern_events(deps, [redelivered, third])
    assert not any(r.repeated for r in of_concern(uow, third.data.concern_id))  # two left in the window, not three
    assert {e.data.concern_id for e in uow.tables.outbox[created:]} == {third.data.concern_id}


async def test_a_hint_suggests_the_recipients_its_category_would_add() -> None:
    deps, uow = fake()
    hint = sorted(SUGGESTING_HINTS)[0]
    reported = concern_event(categories=("noise",), hints=(hint,), reported_at=T0)

    await apply_concern_events(deps, [reported])

    suggested = [e for e in uow.tables.outbox if e.type == "referral.suggested.v1"]
    assert suggested and set(uow.tables.suggestions) == {e.data.suggestion_id for e in suggested}
    assert all(e.data.hint == hint and e.subject == reported.subject for e in suggested)


async def test_an_unroutable_concern_is_refused_and_the_whole_batch_leaves_nothing() -> None:
    deps, uow = fake()
    fine = concern_event(reported_at=T0, place=HOLBAEK)
    nowhere = concern_event(reported_at=T0, place={"department_id": "nowhere-1", "municipality_code": "9999"})

    with pytest.raises(UnroutableConcern):
        await apply_concern_events(deps, [fine, nowhere])

    assert uow.tables.referrals == {} and uow.tables.outbox == [] and uow.tables.subjects == {}
    assert uow.tables.processed == set()  # so the batch is applied again (or dead-lettered) as a whole
