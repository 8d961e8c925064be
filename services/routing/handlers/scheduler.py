"""The clocks: reminders at the due time and escalations at twice the due time, each exactly once.

Every routing worker runs this; a due referral is claimed (FOR UPDATE SKIP LOCKED in PostgreSQL: the unit of
work's `clocks`) and marked in the same unit that writes its event to the outbox, so two workers never both send
it and a crash never loses it.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

from services.routing import metrics
from services.routing.domain import ids
from services.routing.domain.lifecycle import OPEN
from services.routing.domain.referral import Referral, breached_event, escalated_event, receipt_breached_event
from services.routing.handlers.deps import Deps
from services.routing.handlers.ports import DueClock, UnitOfWork
from shared.contracts.envelope import make_event
from shared.contracts.events import EventData

BATCH = 200

Events = Callable[[UnitOfWork, list[Referral], datetime], Awaitable[list[EventData]]]
"""The event of each claimed referral, in the claim's unit of work."""
Count = Callable[[list[Referral]], None]
"""Counts a committed batch in the metrics."""


async def _run_clock(deps: Deps, clock: DueClock, events: Events, kind: str, count: Count) -> int:
    """Claim due referrals a batch at a time, each batch's events into the outbox in the unit that marked them
    (event ids per referral and `kind`), `count` each committed batch; returns how many."""
    now, total = deps.clock.now(), 0
    while True:
        async with deps.unit_of_work() as uow:
            referrals = await uow.clocks.claim_due(clock, now, BATCH)
            data = await events(uow, referrals, now) if referrals else []
            envelopes = [
                make_event(d, source=deps.source, subject=r.subject_key, id=ids.event_id(r.referral_id, kind), time=now)
                for r, d in zip(referrals, data, strict=True)
            ]
            await uow.outbox.add(envelopes)
        count(referrals)
        total += len(referrals)
        if len(referrals) < BATCH:
            return total


async def send_reminders(deps: Deps) -> int:
    """Emit referral.sla_breached.v1 for unacknowledged referrals past their due time; returns how many."""

    async def events(_: UnitOfWork, referrals: list[Referral], now: datetime) -> list[EventData]:
        return [breached_event(r, now) for r in referrals]

    def count(referrals: list[Referral]) -> None:
        for r in referrals:
            metrics.SLA_BREACHES.labels(r.target.value, r.severity.value, r.municipality_code).inc()

    return await _run_clock(deps, "reminder", events, "sla_breached", count)


async def send_receipt_breaches(deps: Deps) -> int:
    """Emit referral.sla_breached.v1 (clock underretning_receipt) for underretninger whose receipt the municipality
    has not confirmed (acknowledged) within 6 working days; returns how many."""

    async def events(_: UnitOfWork, referrals: list[Referral], now: datetime) -> list[EventData]:
        return [receipt_breached_event(r, now) for r in referrals]

    def count(referrals: list[Referral]) -> None:
        metrics.UNDERRETNING_RECEIPT_BREACHES.inc(len(referrals))

    return await _run_clock(deps, "receipt", events, "receipt_breached", count)


async def send_escalations(deps: Deps) -> int:
    """Emit referral.escalated.v1 for referrals still unacknowledged at twice their due time."""

    async def events(uow: UnitOfWork, referrals: list[Referral], now: datetime) -> list[EventData]:
        _, document = await uow.rules()
        escalated: list[EventData] = []
        for r in referrals:
            contact = document.escalation_contact(r.recipient_id)
            await uow.clocks.set_escalation_contact(r.referral_id, contact)
            escalated.append(escalated_event(r, contact, now))
        return escalated

    def count(referrals: list[Referral]) -> None:
        for r in referrals:
            metrics.ESCALATIONS.labels(r.target.value, r.severity.value).inc()

    return await _run_clock(deps, "escalation", events, "escalated", count)


async def measure_open_referrals(deps: Deps) -> None:
    """Set the open-referrals-by-age and the overdue-acknowledgement gauges from the database (the same figures
    in every worker)."""
    now = deps.clock.now()
    async with deps.unit_of_work() as uow:
        ages = await uow.clocks.open_by_age(now, sorted(s.value for s in OPEN), metrics.AGE_BUCKETS)
        overdue = await uow.clocks.overdue(now)
    metrics.OPEN_REFERRALS.clear()
    for (target, age), n in ages.items():
        metrics.OPEN_REFERRALS.labels(target, age).set(n)
    metrics.ACK_OVERDUE.clear()
    for (target, severity), n in overdue.items():
        metrics.ACK_OVERDUE.labels(target, severity).set(n)


async def tick(deps: Deps) -> tuple[int, int]:
    """One round of the clocks: reminders first (an underretning's unconfirmed receipt is one), then escalations,
    then the age gauge."""
    reminded = await send_reminders(deps)
    escalated = await send_escalations(deps)
    reminded += await send_receipt_breaches(deps)
    await measure_open_referrals(deps)
    return reminded, escalated
