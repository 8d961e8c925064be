"""Recording attempts' outcomes, many in one statement: delivery state, subscription health, outcome events."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.sticky import StickyConnection
from services.notify.domain.model import AttemptResult, Decision, DeliveryState
from shared.outbox import OutboxRecord, insert_sql

# Atomic as one statement: each outcome applies only while its worker still holds the lease; the
# subscription's failure streak changes only where it must; every applied outcome queues its event.
_RECORD = f"""
WITH input AS (
    SELECT * FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::timestamptz[],
                         $8::int[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[], $14::text[],
                         $15::bytea[])
        AS i(id, state, next_attempt_at, reason, status, at, generation, disable, health, topic, key, event_id,
             event_type, payload)
), updated AS (
    UPDATE deliveries d SET state = i.state, next_attempt_at = coalesce(i.next_attempt_at, d.next_attempt_at),
           lease_owner = NULL, lease_until = NULL, last_reason = i.reason, last_status = i.status,
           delivered_at = CASE WHEN i.state = 'delivered' THEN i.at ELSE d.delivered_at END, updated_at = now()
    FROM input i
    WHERE d.id = i.id AND d.lease_owner = $1 AND d.state = 'pending' AND d.generation = i.generation
    RETURNING d.id, d.subscription_id
), health AS (
    UPDATE subscriptions s SET
        failing_since = CASE WHEN h.any_delivered THEN NULL ELSE coalesce(s.failing_since, h.first_at) END,
        state = CASE WHEN h.disable IS NOT NULL THEN 'disabled' ELSE s.state END,
        disabled_reason = coalesce(h.disable, s.disabled_reason), updated_at = now()
    FROM (
        SELECT u.subscription_id, bool_or(i.state = 'delivered') AS any_delivered, min(i.at) AS first_at,
               max(i.disable) AS disable
        FROM updated u JOIN input i ON i.id = u.id WHERE i.health GROUP BY u.subscription_id
    ) h
    WHERE s.id = h.subscription_id AND s.state = 'active'
), queued AS (
    {insert_sql("SELECT i.topic, i.key, i.event_id, i.event_type, i.payload FROM input i JOIN updated u USING (id)")}
)
SELECT id FROM updated
"""  # noqa: S608 - a constant fragment, placeholders only


@dataclass(frozen=True)
class Outcome:
    """One attempt's outcome, ready to record."""

    delivery: ClaimedDelivery
    result: AttemptResult
    decision: Decision
    topic: str
    event: OutboxRecord
    at: datetime


def health_changes(delivery: ClaimedDelivery, decision: Decision) -> bool:
    """Whether the subscription's failure streak or state changes (most outcomes leave it alone)."""
    if delivery.subscription_id is None or decision.state is DeliveryState.CANCELLED:
        return False
    if decision.state is DeliveryState.DELIVERED:
        return delivery.failing_since is not None
    return decision.disable_subscription is not None or delivery.failing_since is None


async def record_outcomes(conn: asyncpg.Connection, owner: str, outcomes: list[Outcome]) -> set[str]:
    """Store outcomes; returns the ids applied (an id missing: this process lost that lease meanwhile)."""
    columns: list[list] = [[] for _ in range(14)]
    for o in outcomes:
        values = (
            o.delivery.id,
            o.decision.state.value,
            o.decision.next_attempt_at,
            o.result.reason,
            o.result.status,
            o.at,
            o.delivery.generation,
            o.decision.disable_subscription,
            health_changes(o.delivery, o.decision),
            o.topic,
            o.event.key,
            o.event.event_id,
            o.event.event_type,
            o.event.payload,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows = await conn.fetch(_RECORD, owner, *columns)
    return {str(row["id"]) for row in rows}


class PostgresOutcomes:
    """OutcomeStore on PostgreSQL: `record_outcomes` over one kept connection (the recorder writes all the time)."""

    def __init__(self, pool: asyncpg.Pool, owner: str):
        self._kept = StickyConnection(pool)
        self._owner = owner

    async def write(self, outcomes: list[Outcome]) -> set[str]:
        async with self._kept.connection() as conn:
            return await record_outcomes(conn, self._owner, outcomes)

    async def close(self) -> None:
        await self._kept.close()
