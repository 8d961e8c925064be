"""Routing's clocks and demo clock through the in-memory unit of work: reminders, escalations and an
underretning's receipt reminder each once, marked in the unit that queues the event (a failed unit loses none),
batch by batch; the gauges; and the demo clock's shift of every stored time. No PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.routing import metrics
from services.routing.domain import ids
from services.routing.domain.clock import FakeClock, working_days_span
from services.routing.domain.referral import Referral, from_plan
from services.routing.domain.routing import decide
from services.routing.handlers import demo_clock, scheduler
from services.routing.handlers.deps import Deps
from services.routing.handlers.ports import InMemoryUnitOfWork
from shared.contracts.vocabulary import ReferralStatus
from tests.unit.test_routing_hints import hinted
from tests.unit.test_routing_rules import RULES

pytestmark = pytest.mark.unit
S = ReferralStatus
T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)  # a Tuesday


def stored(n: int = 1, *categories: str) -> list[Referral]:
    """`n` concerns' referrals as routing stores them, created at T0 (a category with one recipient by default)."""
    referrals = []
    for i in range(n):
        facts = replace(hinted(categories or ("loneliness",)), concern_id=f"c-{i}")
        referrals += [from_plan(p, facts, rules_version=1, now=T0) for p in decide(facts, RULES)]
    return referrals


def fake(referrals: list[Referral], now: datetime) -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork(rules=(1, RULES))
    uow.tables.referrals.update({r.referral_id: r for r in referrals})
    deps = Deps(None, FakeClock(now), None, "routing", "referral-events", "/services/routing", uow=uow)  # type: ignore[arg-type]
    return deps, uow


def events(uow: InMemoryUnitOfWork) -> list[tuple[str, str]]:
    return sorted((e.type, e.data.referral_id) for e in uow.tables.outbox)


async def test_a_reminder_goes_once_for_each_waiting_referral_past_its_due_time() -> None:
    due, answered, later = stored(3)
    answered = replace(answered, status=S.RECEIVED)
    later = replace(later, ack_due_at=T0 + timedelta(days=30), escalate_at=T0 + timedelta(days=60))
    now = max(due.ack_due_at, answered.ack_due_at) + timedelta(minutes=1)
    deps, uow = fake([due, answered, later], now)

    assert await scheduler.send_reminders(deps) == 1
    assert await scheduler.send_reminders(deps) == 0

    assert events(uow) == [("referral.sla_breached.v1", due.referral_id)]
    assert uow.tables.outbox[0].id == ids.event_id(due.referral_id, "sla_breached")
    assert uow.tables.referrals[due.referral_id].breached_at == now
    assert uow.tables.referrals[answered.referral_id].breached_at is None


async def test_an_escalation_names_the_recipients_escalation_contact_and_is_stored() -> None:
    (referral,) = stored(1)
    deps, uow = fake([referral], referral.escalate_at)

    reminded, escalated = await scheduler.tick(deps)

    assert (reminded, escalated) == (1, 1)
    contact = RULES.escalation_contact(referral.recipient_id)
    assert uow.tables.referrals[referral.referral_id].escalation_contact_id == contact
    [escalation] = [e for e in uow.tables.outbox if e.type == "referral.escalated.v1"]
    assert escalation.data.escalation_contact_id == contact
    assert await scheduler.tick(deps) == (0, 0)


async def test_only_an_underretning_has_the_receipt_reminder() -> None:
    plain, underretning = stored(2)
    underretning = replace(underretning, underretning=True, receipt_due_at=T0 + timedelta(hours=1))
    plain = replace(plain, receipt_due_at=T0 + timedelta(hours=1))  # not an underretning: no such clock
    deps, uow = fake([plain, underretning], T0 + timedelta(hours=2))

    assert await scheduler.send_receipt_breaches(deps) == 1

    assert events(uow) == [("referral.sla_breached.v1", underretning.referral_id)]
    assert uow.tables.outbox[0].data.clock == "underretning_receipt"
    assert uow.tables.referrals[underretning.referral_id].receipt_breached_at == T0 + timedelta(hours=2)


async def test_many_due_referrals_go_batch_by_batch_each_in_its_own_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    referrals = stored(5)
    deps, uow = fake(referrals, max(r.ack_due_at for r in referrals))
    monkeypatch.setattr(scheduler, "BATCH", 2)

    assert await scheduler.send_reminders(deps) == 5

    assert uow.commits == 3  # 2 + 2 + 1
    assert sorted(r for _, r in events(uow)) == sorted(r.referral_id for r in referrals)


async def test_a_unit_that_fails_marks_nothing_so_the_next_tick_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    (referral,) = stored(1)
    deps, uow = fake([referral], referral.ack_due_at)

    def broken(r: Referral, now: datetime) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(scheduler, "breached_event", broken)
    with pytest.raises(RuntimeError):
        await scheduler.send_reminders(deps)
    assert uow.tables.referrals[referral.referral_id].breached_at is None and uow.tables.outbox == []

    monkeypatch.undo()
    assert await scheduler.send_reminders(deps) == 1


async def test_the_gauges_count_open_referrals_by_age_and_the_overdue_ones() -> None:
    young, old, closed = stored(3)
    old = replace(old, created_at=T0 - timedelta(days=10), ack_due_at=T0 - timedelta(days=4))
    closed = replace(closed, status=S.COMPLETED)
    deps, _ = fake([young, old, closed], T0 + timedelta(hours=2))

    await scheduler.measure_open_referrals(deps)

    target = young.target.value
    assert metrics.OPEN_REFERRALS.labels(target, "lt_1d")._value.get() == 1
    assert metrics.OPEN_REFERRALS.labels(target, "lt_30d")._value.get() == 1
    assert metrics.ACK_OVERDUE.labels(target, old.severity.value)._value.get() == 1  # old's due time passed


async def test_the_demo_clock_moves_every_stored_time_back_and_the_clocks_then_fire() -> None:
    (referral,) = stored(1)
    now = T0 + timedelta(hours=1)
    deps, uow = fake([referral], now)

    advanced = await demo_clock.advance(deps, 30)

    span = working_days_span(now, 30)
    moved = uow.tables.referrals[referral.referral_id]
    assert moved.created_at == referral.created_at - span and moved.ack_due_at == referral.ack_due_at - span
    assert uow.tables.demo_shifts == {referral.referral_id: span}
    assert (advanced.referrals, advanced.reminders_due, advanced.escalations_due) == (1, 1, 1)
    assert moved.breached_at == now and moved.escalated_at == now  # fired by the normal path, then marked
    assert [e.type for e in uow.tables.outbox] == ["referral.sla_breached.v1", "referral.escalated.v1"]

    again = await demo_clock.advance(deps, 1)  # goes on from where the first advance left the referral's clock

    assert uow.tables.demo_shifts[referral.referral_id] == span + working_days_span(now + span, 1)
    assert (again.reminders_due, again.escalations_due) == (0, 0) and len(uow.tables.outbox) == 2
