"""Applying consumed events, a batch at a time: each event's deliveries and feed entry are written once.

Each event type has a planner (a pure function in the table in handlers/__init__.py) that adds the
event's effects; `apply_batch` reads what planners need, runs them in order, and writes all effects
with the inbox records in one unit of work (`ports.EventUnitOfWork`), so a replayed batch changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.adapters.feed import FeedEntry
from services.notify.adapters.unit_of_work import PostgresEventUnit
from services.notify.domain.fanout import (
    REPORTER,
    SubscriptionView,
    consultant_emails,
    reporter_receipt,
    reporter_update,
    webhook_deliveries,
)
from services.notify.domain.model import PlannedDelivery
from services.notify.domain.payloads import Links, event_scope, thin_data
from services.notify.domain.scope import SubscriberScope
from services.notify.handlers.outcomes import cancelled_event
from services.notify.handlers.ports import EventUnitOfWork
from shared.contracts.envelope import Envelope

ScopeLookup = Callable[[str], SubscriberScope | None]
STATUS_CHANGED = "referral.status_changed.v1"


@dataclass(frozen=True)
class EventDeps:
    """What applying events needs; bootstrap builds it."""

    pool: asyncpg.Pool
    consumer: str
    scope_of: ScopeLookup
    links: Links
    receipts_enabled: bool
    outcome_topic: str
    source: str
    on_planned: Callable[[], None] = lambda: None
    uow: Callable[[], EventUnitOfWork] | None = None
    """Makes the units of work in unit tests (a fake); None: PostgreSQL on `pool`."""

    def unit_of_work(self) -> EventUnitOfWork:
        """A new unit of work: one transaction, used once with `async with`."""
        return self.uow() if self.uow else PostgresEventUnit(self.pool, self.consumer)


@dataclass
class Batch:
    """What planners read (subscriptions, reporters known) and what they add (the effects)."""

    subscriptions: list[SubscriptionView]
    scope_of: ScopeLookup
    links: Links
    receipts_enabled: bool
    known_reporters: set[str]
    deliveries: list[PlannedDelivery] = field(default_factory=list)
    feed: list[FeedEntry] = field(default_factory=list)
    reporters_added: dict[str, datetime] = field(default_factory=dict)
    erasures: list[tuple[str, str]] = field(default_factory=list)  # (concern id, erasing event id)


def plan_referral_event(event: Envelope[Any], batch: Batch) -> None:
    """Webhooks to matching subscriptions, e-mails to the consultant, a reporter update, the feed entry."""
    batch.deliveries += webhook_deliveries(event, batch.subscriptions, batch.scope_of, batch.links)
    batch.deliveries += consultant_emails(event, batch.links)
    if event.type == STATUS_CHANGED and batch.receipts_enabled and event.data.concern_id in batch.known_reporters:
        update = reporter_update(event)
        if update is not None:
            batch.deliveries.append(update)
    item = {"event_id": event.id, "type": event.type, "time": event.time.isoformat()}
    batch.feed.append(
        FeedEntry(event_scope(event), event.id, event.time, {**item, "data": thin_data(event, batch.links)})
    )


def plan_concern_reported(event: Envelope[Any], batch: Batch) -> None:
    """A receipt to a reporter who left a contact; the concern is remembered for status updates."""
    if event.data.has_reporter_contact and batch.receipts_enabled:
        batch.reporters_added[event.data.concern_id] = event.data.reported_at
        batch.known_reporters.add(event.data.concern_id)
        batch.deliveries.append(reporter_receipt(event))


def plan_concern_erased(event: Envelope[Any], batch: Batch) -> None:
    """Forget the reporter's concern; nothing more is sent to the reporter about it."""
    concern_id = event.data.concern_id
    batch.known_reporters.discard(concern_id)
    batch.reporters_added.pop(concern_id, None)
    batch.deliveries = [d for d in batch.deliveries if not (d.recipient_id == REPORTER and d.concern_id == concern_id)]
    batch.erasures.append((concern_id, event.id))


async def apply_batch(
    events: list[Envelope[Any]], deps: EventDeps, planners: dict[str, Callable[[Envelope[Any], Batch], None]]
) -> int:
    """Apply the events not applied before, in order, in one transaction; returns how many were new."""
    async with deps.unit_of_work() as uow:
        fresh = await uow.first_deliveries(list(dict.fromkeys(e.id for e in events)))
        todo, seen = [], set()
        for event in events:
            if event.id in fresh and event.id not in seen:
                seen.add(event.id)
                todo.append(event)
        if not todo:
            return 0
        batch = Batch(
            subscriptions=await uow.subscriptions.active(),
            scope_of=deps.scope_of,
            links=deps.links,
            receipts_enabled=deps.receipts_enabled,
            known_reporters=await _known_reporters(uow, todo) if deps.receipts_enabled else set(),
        )
        for event in todo:
            planners[event.type](event, batch)
        await _write(uow, batch, deps)
    if batch.deliveries:
        deps.on_planned()
    return len(todo)


async def _known_reporters(uow: EventUnitOfWork, events: list[Envelope[Any]]) -> set[str]:
    concern_ids = sorted({e.data.concern_id for e in events if e.type == STATUS_CHANGED})
    return await uow.reporters.known(concern_ids) if concern_ids else set()


async def _write(uow: EventUnitOfWork, batch: Batch, deps: EventDeps) -> None:
    if batch.reporters_added:
        await uow.reporters.add(batch.reporters_added)
    for concern_id, cause in batch.erasures:
        await uow.reporters.forget(concern_id)
        cancelled = await uow.deliveries.cancel_for_reporter(concern_id)
        await uow.outbox.add(deps.outcome_topic, [cancelled_event(row, cause, deps.source) for row in cancelled])
    await uow.deliveries.add(batch.deliveries)
    await uow.feed.append(batch.feed)  # last: it holds the feed lock until commit
