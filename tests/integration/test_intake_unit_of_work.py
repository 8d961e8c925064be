"""intake's unit of work on PostgreSQL keeps the same rules as its in-memory fake (the handlers' unit tests use it)."""

from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.intake.adapters.sealing import Sealer
from services.intake.adapters.unit_of_work import PostgresUnitOfWork
from services.intake.domain.directory import Directory
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork, UnitOfWork
from services.intake.handlers.referrals import on_referral_clock, on_referral_created, on_referral_status_changed
from shared.contracts.envelope import Envelope, make_event
from shared.contracts.examples import example_events
from tests.support.intake_harness import intake_settings

pytestmark = pytest.mark.integration


def again(event: Envelope[Any], **changes: Any) -> Envelope[Any]:
    data = type(event.data).model_validate(event.data.model_dump() | changes)
    return make_event(data, source=event.source, subject=event.subject)


def story() -> list[Envelope[Any]]:
    """Referral events as they may arrive: twice, out of order, a rejection merged into an open referral, clocks."""
    found = {event.type: event for event in example_events()}
    created, completed = found["referral.created.v1"], found["referral.status_changed.v1"]
    other = again(created, referral_id="referral-open", task="inform")
    rejected = again(completed, from_status="requested", to_status="rejected",
                     outcome=None, reason="capacity", rerouted_to_referral_id="referral-open",
                     merged_into_open=True, rerouted_task="act", changed_at=created.data.created_at)  # fmt: skip
    older = again(completed, from_status="requested", to_status="received", outcome=None,
                  changed_at=completed.data.changed_at - timedelta(days=5))  # fmt: skip
    clocks = [found["referral.sla_breached.v1"], found["referral.escalated.v1"]]
    return [created, created, other, rejected, completed, older, completed, *clocks]


async def apply(deps: Deps, events: list[Envelope[Any]]) -> None:
    for event in events:
        if event.type == "referral.created.v1":
            await on_referral_created(deps, event)
        elif event.type == "referral.status_changed.v1":
            await on_referral_status_changed(deps, event)
        else:
            await on_referral_clock(deps, event)


async def seen(uow: UnitOfWork, concern_id: str) -> tuple[list[Any], list[Any]]:
    async with uow as unit:
        return await unit.referrals.of_concern(concern_id), await unit.referrals.history_of(concern_id)


async def test_postgres_and_the_fake_give_the_same_referrals_and_history(fresh_database) -> None:  # noqa: ANN001
    events = story()
    concern_id = events[0].data.concern_id
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    fake = InMemoryUnitOfWork()
    await apply(Deps(settings, None, Sealer(settings.master_key_bytes), Directory(), {}, {}, uow=fake), events)  # type: ignore[arg-type]

    async with fresh_database("intake") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            deps = Deps(settings, pool, Sealer(settings.master_key_bytes), Directory(), {}, {})
            await apply(deps, events)
            real = await seen(PostgresUnitOfWork(pool, settings.consumer_group), concern_id)
        finally:
            await pool.close()

    expected = await seen(fake, concern_id)
    assert real == expected
    referrals, history = real
    assert [(r.referral_id, r.status, r.task) for r in referrals] == [
        (events[0].data.referral_id, "completed", "act"),
        ("referral-open", "requested", "act"),  # it took the rejected one over, with its task
    ]
    assert len(history) == 7  # each distinct event once
