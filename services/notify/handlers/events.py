"""Applying consumed events: each one's deliveries and feed entry are written once, in one transaction."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.notify.adapters.deliveries import insert_deliveries
from services.notify.adapters.delivery_log import cancel_reporter_deliveries
from services.notify.adapters.feed import append_to_feed
from services.notify.adapters.outbox import OutboxEvent, insert_outbox
from services.notify.adapters.subscriptions import active_subscriptions
from services.notify.domain.fanout import (
    REPORTER,
    consultant_emails,
    reporter_receipt,
    reporter_update,
    webhook_deliveries,
)
from services.notify.domain.payloads import Links, event_scope, thin_data
from services.notify.domain.scope import SubscriberScope
from services.notify.handlers.outcomes import outcome_key
from shared.contracts.envelope import Envelope, make_event
from shared.contracts.notifications import NotificationFailed
from shared.db.inbox import first_delivery

ScopeLookup = Callable[[str], SubscriberScope | None]


@dataclass(frozen=True)
class EventDeps:
    """What the event handlers need; bootstrap builds it (unit tests with fakes where they can)."""

    pool: asyncpg.Pool
    consumer: str
    scope_of: ScopeLookup
    links: Links
    receipts_enabled: bool
    outcome_topic: str
    source: str
    on_planned: Callable[[], None] = lambda: None


async def on_referral_event(event: Envelope[Any], deps: EventDeps) -> None:
    """Webhooks to matching subscriptions, e-mails to the consultant, a reporter update, and the feed entry."""
    async with deps.pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, deps.consumer, event.id):
            return
        subscriptions = await active_subscriptions(conn, event.type)
        planned = webhook_deliveries(event, subscriptions, deps.scope_of, deps.links)
        planned += consultant_emails(event, deps.links)
        if event.type == "referral.status_changed.v1" and deps.receipts_enabled:
            update = reporter_update(event)
            known = await conn.fetchval(
                "SELECT true FROM reporter_concerns WHERE concern_id = $1", event.data.concern_id
            )
            if update is not None and known:
                planned.append(update)
        await insert_deliveries(conn, planned)
        feed_item = {"event_id": event.id, "type": event.type, "time": event.time.isoformat()}
        feed_item["data"] = thin_data(event, deps.links)
        await append_to_feed(conn, event_scope(event), event.id, event.time, feed_item)
    if planned:
        deps.on_planned()


async def on_concern_reported(event: Envelope[Any], deps: EventDeps) -> None:
    """A receipt to a reporter who left a contact; remember the concern for later status updates."""
    if not (event.data.has_reporter_contact and deps.receipts_enabled):
        return
    async with deps.pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, deps.consumer, event.id):
            return
        await conn.execute(
            "INSERT INTO reporter_concerns (concern_id, reported_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            event.data.concern_id,
            event.data.reported_at,
        )
        await insert_deliveries(conn, [reporter_receipt(event)])
    deps.on_planned()


async def on_concern_erased(event: Envelope[Any], deps: EventDeps) -> None:
    """Forget the reporter's concern and cancel what was still to be sent to the reporter."""
    concern_id = event.data.concern_id
    async with deps.pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, deps.consumer, event.id):
            return
        await conn.execute("DELETE FROM reporter_concerns WHERE concern_id = $1", concern_id)
        cancelled = await cancel_reporter_deliveries(conn, concern_id)
        await insert_outbox(conn, [_cancelled_event(row, event.id, deps) for row in cancelled])


def _cancelled_event(row: asyncpg.Record, cause_id: str, deps: EventDeps) -> OutboxEvent:
    now = datetime.now(UTC)
    key = outcome_key(None, REPORTER)
    data = NotificationFailed(
        delivery_id=str(row["id"]),
        channel=row["channel"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        referral_id=row["referral_id"],
        attempts=max(row["attempts"], 1),
        reason="concern_erased",
        final=True,
        failed_at=now,
    )
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:crp-notify:cancelled:{row['id']}:{cause_id}"))
    return OutboxEvent.of(deps.outcome_topic, make_event(data, source=deps.source, subject=key, id=event_id), key)
