"""The clocks: reminders at the due time and escalations at twice the due time, each exactly once.

Every routing worker runs this; a due referral is claimed with FOR UPDATE SKIP LOCKED and marked in the
same transaction that writes its event to the outbox, so two workers never both send it and a crash
never loses it.
"""

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from services.routing import metrics
from services.routing.adapters.referral_store import to_referral
from services.routing.domain import ids
from services.routing.domain.lifecycle import OPEN
from services.routing.domain.referral import Referral, breached_event, escalated_event, receipt_breached_event
from services.routing.handlers.deps import Deps
from shared import outbox
from shared.contracts.envelope import make_event
from shared.contracts.events import EventData

BATCH = 200

_CLAIM = """
UPDATE referrals SET {mark} = $1, updated_at = now()
WHERE referral_id IN (
    SELECT referral_id FROM referrals
    WHERE status = 'requested' AND {mark} IS NULL AND {due} <= $1
    ORDER BY {due} LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING *
"""


async def _claim(conn: asyncpg.Connection, now: datetime, *, mark: str, due: str) -> list:
    return await conn.fetch(_CLAIM.format(mark=mark, due=due), now, BATCH)


_CLAIM_RECEIPTS = """
UPDATE referrals SET receipt_breached_at = $1, updated_at = now()
WHERE referral_id IN (
    SELECT referral_id FROM referrals
    WHERE underretning AND status = 'requested' AND receipt_breached_at IS NULL AND receipt_due_at <= $1
    ORDER BY receipt_due_at LIMIT $2 FOR UPDATE SKIP LOCKED
)
RETURNING *
"""


async def _claim_receipts(conn: asyncpg.Connection, now: datetime) -> list:
    return await conn.fetch(_CLAIM_RECEIPTS, now, BATCH)


Claim = Callable[[asyncpg.Connection, datetime], Awaitable[list]]
"""Marks up to BATCH due referrals and returns their rows."""
Events = Callable[[asyncpg.Connection, list[Referral], datetime], Awaitable[list[EventData]]]
"""The event of each claimed referral, in the claim's transaction."""
Count = Callable[[list[Referral]], None]
"""Counts a committed batch in the metrics."""


async def _run_clock(deps: Deps, claim: Claim, events: Events, kind: str, count: Count) -> int:
    """Claim due referrals a batch at a time, each batch's events into the outbox in the transaction that marked
    them (event ids per referral and `kind`), `count` each committed batch; returns how many."""
    now, total = deps.clock.now(), 0
    while True:
        async with deps.pool.acquire() as conn, conn.transaction():
            referrals = [to_referral(row) for row in await claim(conn, now)]
            data = await events(conn, referrals, now)
            envelopes = [
                make_event(d, source=deps.source, subject=r.subject_key, id=ids.event_id(r.referral_id, kind), time=now)
                for r, d in zip(referrals, data, strict=True)
            ]
            await outbox.enqueue(conn, deps.referral_topic, envelopes)
        count(referrals)
        total += len(referrals)
        if len(referrals) < BATCH:
            return total


async def send_reminders(deps: Deps) -> int:
    """Emit referral.sla_breached.v1 for unacknowledged referrals past their due time; returns how many."""

    async def events(_: asyncpg.Connection, referrals: list[Referral], now: datetime) -> list[EventData]:
        return [breached_event(r, now) for r in referrals]

    def count(referrals: list[Referral]) -> None:
        for r in referrals:
            metrics.SLA_BREACHES.labels(r.target.value, r.severity.value, r.municipality_code).inc()

    claim = functools.partial(_claim, mark="breached_at", due="ack_due_at")
    return await _run_clock(deps, claim, events, "sla_breached", count)


async def send_receipt_breaches(deps: Deps) -> int:
    """Emit referral.sla_breached.v1 (clock underretning_receipt) for underretninger whose receipt the municipality
    has not confirmed (acknowledged) within 6 working days; returns how many."""

    async def events(_: asyncpg.Connection, referrals: list[Referral], now: datetime) -> list[EventData]:
        return [receipt_breached_event(r, now) for r in referrals]

    def count(referrals: list[Referral]) -> None:
        metrics.UNDERRETNING_RECEIPT_BREACHES.inc(len(referrals))

    return await _run_clock(deps, _claim_receipts, events, "receipt_breached", count)


async def send_escalations(deps: Deps) -> int:
    """Emit referral.escalated.v1 for referrals still unacknowledged at twice their due time."""

    async def events(conn: asyncpg.Connection, referrals: list[Referral], now: datetime) -> list[EventData]:
        _, document = await deps.rules.get(conn)
        escalated: list[EventData] = []
        for r in referrals:
            contact = document.escalation_contact(r.recipient_id)
            await conn.execute(
                "UPDATE referrals SET escalation_contact_id = $2 WHERE referral_id = $1", r.referral_id, contact
            )
            escalated.append(escalated_event(r, contact, now))
        return escalated

    def count(referrals: list[Referral]) -> None:
        for r in referrals:
            metrics.ESCALATIONS.labels(r.target.value, r.severity.value).inc()

    claim = functools.partial(_claim, mark="escalated_at", due="escalate_at")
    return await _run_clock(deps, claim, events, "escalated", count)


async def measure_open_referrals(deps: Deps) -> None:
    """Set the open-referrals-by-age and the overdue-acknowledgement gauges from the database (the same figures
    in every worker)."""
    buckets = " ".join(
        f"WHEN created_at > $1::timestamptz - interval '{span}' THEN '{name}'" for name, span in metrics.AGE_BUCKETS
    )
    now = deps.clock.now()
    async with deps.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT target, CASE {buckets} ELSE 'gte_30d' END AS age, count(*) AS n FROM referrals "  # noqa: S608
            "WHERE status = ANY($2::text[]) GROUP BY 1, 2",
            now,
            sorted(s.value for s in OPEN),
        )
        overdue = await conn.fetch(
            "SELECT target, severity, count(*) AS n FROM referrals "
            "WHERE status = 'requested' AND ack_due_at <= $1 GROUP BY 1, 2",
            now,
        )
    metrics.OPEN_REFERRALS.clear()
    for row in rows:
        metrics.OPEN_REFERRALS.labels(row["target"], row["age"]).set(row["n"])
    metrics.ACK_OVERDUE.clear()
    for row in overdue:
        metrics.ACK_OVERDUE.labels(row["target"], row["severity"]).set(row["n"])


async def tick(deps: Deps) -> tuple[int, int]:
    """One round of the clocks: reminders first (an underretning's unconfirmed receipt is one), then escalations,
    then the age gauge."""
    reminded = await send_reminders(deps)
    escalated = await send_escalations(deps)
    reminded += await send_receipt_breaches(deps)
    await measure_open_referrals(deps)
    return reminded, escalated
