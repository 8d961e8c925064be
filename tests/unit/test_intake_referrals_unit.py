"""intake's referral projection handlers through the in-memory unit of work: no PostgreSQL."""

from datetime import timedelta
from typing import Any

import pytest

from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Directory
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork
from services.intake.handlers.referrals import on_referral_clock, on_referral_created, on_referral_status_changed
from shared.contracts.envelope import Envelope, make_event
from shared.contracts.examples import example_events
from tests.support.intake_harness import intake_settings

pytestmark = pytest.mark.unit


def fake_deps() -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork()
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    deps = Deps(settings, None, Sealer(settings.master_key_bytes), Directory(), {}, {}, uow=uow)  # type: ignore[arg-type]
    return deps, uow


def events() -> dict[str, Envelope[Any]]:
    return {event.type: event for event in example_events()}


def again(event: Envelope[Any], **changes: Any) -> Envelope[Any]:
    """The same kind of event with other data and a fresh id."""
    data = type(event.data).model_validate(event.data.model_dump() | changes)
    return make_event(data, source=event.source, subject=event.subject)


async def test_a_created_referral_is_remembered_with_its_first_step() -> None:
    deps, uow = fake_deps()
    created = events()["referral.created.v1"]

    await on_referral_created(deps, created)

    (referral,) = await uow.referrals.of_concern(created.data.concern_id)
    assert (referral.referral_id, referral.status, referral.recipient_id) == (
        created.data.referral_id,
        "requested",
        "mun-0316-single-entry",
    )
    assert [(s.event, s.to_status) for s in await uow.referrals.history_of(created.data.concern_id)] == [
        ("referred", "requested")
    ]
    assert uow.commits == 1


async def test_a_redelivered_event_is_applied_once() -> None:
    deps, uow = fake_deps()
    found = events()
    created, completed = found["referral.created.v1"], found["referral.status_changed.v1"]
    for event in (created, created, completed, completed):
        await (on_referral_created if event is created else on_referral_status_changed)(deps, event)

    steps = await uow.referrals.history_of(created.data.concern_id)
    assert [s.event for s in steps] == ["referred", "status_changed"]
    (referral,) = await uow.referrals.of_concern(created.data.concern_id)
    assert referral.status == "completed"


async def test_a_late_older_move_never_overwrites_a_newer_status() -> None:
    deps, uow = fake_deps()
    found = events()
    created, completed = found["referral.created.v1"], found["referral.status_changed.v1"]
    older = again(completed, from_status="requested", to_status="received",
                  outcome=None, changed_at=completed.data.changed_at - timedelta(days=5))  # fmt: skip
    await on_referral_created(deps, created)
    await on_referral_status_changed(deps, completed)
    await on_referral_status_changed(deps, older)

    (referral,) = await uow.referrals.of_concern(created.data.concern_id)
    assert referral.status == "completed"
    steps = await uow.referrals.history_of(created.data.concern_id)
    assert [s.to_status for s in steps] == ["requested", "received", "completed"]  # every step, in time order


async def test_a_rejection_merged_into_an_open_referral_gives_it_the_new_task() -> None:
    deps, uow = fake_deps()
    found = events()
    created = found["referral.created.v1"]
    other = again(created, referral_id="referral-open", task="inform")
    rejected = again(found["referral.status_changed.v1"], from_status="requested", to_status="rejected", outcome=None,
                     reason="not_our_responsibility", rerouted_to_referral_id="referral-open", merged_into_open=True,
                     rerouted_task="act", changed_at=created.data.created_at + timedelta(hours=1))  # fmt: skip
    for event, handler in ((created, on_referral_created), (other, on_referral_created)):
        await handler(deps, event)
    await on_referral_status_changed(deps, rejected)

    by_id = {r.referral_id: r for r in await uow.referrals.of_concern(created.data.concern_id)}
    assert by_id[created.data.referral_id].status == "rejected"
    assert (by_id["referral-open"].status, by_id["referral-open"].task) == ("requested", "act")


async def test_clock_events_are_steps_of_the_concerns_history() -> None:
    deps, uow = fake_deps()
    found = events()
    breached, escalated = found["referral.sla_breached.v1"], found["referral.escalated.v1"]
    await on_referral_clock(deps, escalated)
    await on_referral_clock(deps, breached)

    steps = await uow.referrals.history_of(breached.data.concern_id)
    assert [(s.event, s.at) for s in steps] == [
        ("sla_breached", breached.data.breached_at),
        ("escalated", escalated.data.escalated_at),
    ]


async def test_a_failure_inside_the_unit_leaves_nothing_behind() -> None:
    deps, uow = fake_deps()
    created = events()["referral.created.v1"]

    async def fail_after_adding(event_id: str, data: Any) -> None:
        await add(event_id, data)
        raise ConnectionError("the database went away")

    add = uow.referrals.add
    uow.referrals.add = fail_after_adding  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await on_referral_created(deps, created)
    uow.referrals.add = add  # type: ignore[method-assign]

    assert await uow.referrals.of_concern(created.data.concern_id) == []
    await on_referral_created(deps, created)  # the inbox rolled back too: the retry applies it
    assert len(await uow.referrals.of_concern(created.data.concern_id)) == 1
