"""intake's projection of referral-events: who was referred the concern, with what disclosure, and what happened."""

from typing import Any

from services.intake.handlers.deps import Deps
from shared.contracts.envelope import Envelope


async def on_referral_created(deps: Deps, event: Envelope[Any]) -> None:
    """Remember the referral: its recipient decides who may read the concern's details."""
    async with deps.unit_of_work() as uow:
        if await uow.first_delivery(event.id):
            await uow.referrals.add(event.id, event.data)


async def on_referral_status_changed(deps: Deps, event: Envelope[Any]) -> None:
    """Follow the referral's lifecycle (a rejected or cancelled referral no longer opens the details)."""
    async with deps.unit_of_work() as uow:
        if await uow.first_delivery(event.id):
            await uow.referrals.move(event.id, event.data)


async def on_referral_clock(deps: Deps, event: Envelope[Any]) -> None:
    """A breached or escalated acknowledgement clock: part of the concern's history."""
    data = event.data
    kind = "sla_breached" if event.type == "referral.sla_breached.v1" else "escalated"
    at = data.breached_at if kind == "sla_breached" else data.escalated_at
    async with deps.unit_of_work() as uow:
        if await uow.first_delivery(event.id):
            await uow.referrals.add_step(event.id, data.referral_id, data.concern_id, kind, at)
