"""The delivery queue in PostgreSQL: written by the consumer, claimed with a lease by workers in any process."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notify.adapters.outbox import OutboxEvent, insert_outbox
from services.notify.domain.model import AttemptResult, Channel, Decision, DeliveryState, PlannedDelivery


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this process holds the lease on, with what sending it needs."""

    id: str
    channel: Channel
    target_key: str
    event_id: str
    event_type: str
    event_time: datetime
    body: str
    attempts: int  # counting the attempt about to be made
    generation: int
    window_started_at: datetime
    subscription_id: str | None
    recipient_id: str | None
    template: str | None
    concern_id: str | None
    referral_id: str | None
    municipality_code: str | None
    subscription_url: str | None
    subscription_state: str | None
    secret_ciphertext: bytes | None
    client_id: str | None
    failing_since: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> "ClaimedDelivery":
        """From a row of the claim query."""
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["id"] = str(row["id"])
        values["channel"] = Channel(row["channel"])
        values["subscription_id"] = str(row["subscription_id"]) if row["subscription_id"] else None
        return cls(**values)


_INSERT_COLUMNS = [
    "id",
    "channel",
    "target_key",
    "event_id",
    "event_type",
    "event_time",
    "body",
    "subscription_id",
    "recipient_id",
    "template",
    "concern_id",
    "referral_id",
    "municipality_code",
]
_PLACEHOLDERS = ", ".join(f"${i + 1}" for i in range(len(_INSERT_COLUMNS)))


async def insert_deliveries(conn: asyncpg.Connection, planned: list[PlannedDelivery]) -> None:
    """Write new deliveries; one that exists (a replayed event) is left as it is."""
    if not planned:
        return
    columns = _INSERT_COLUMNS
    await conn.executemany(
        f"INSERT INTO deliveries ({', '.join(columns)}) VALUES ({_PLACEHOLDERS})"  # noqa: S608 - constant columns
        " ON CONFLICT (id) DO NOTHING",
        [tuple(str(getattr(p, c)) if c == "channel" else getattr(p, c) for c in columns) for p in planned],
    )


_CANDIDATES = """
SELECT d.id, d.target_key FROM (
    SELECT DISTINCT target_key FROM deliveries WHERE state = 'pending' AND next_attempt_at <= now()
) t CROSS JOIN LATERAL (
    SELECT id, target_key, next_attempt_at FROM deliveries d
    WHERE d.target_key = t.target_key AND d.state = 'pending' AND d.next_attempt_at <= now()
      AND (d.lease_until IS NULL OR d.lease_until <= now())
    ORDER BY d.next_attempt_at, d.seq LIMIT $1
) d
ORDER BY d.next_attempt_at LIMIT $2
"""

_CLAIM = """
WITH claimed AS (
    UPDATE deliveries d SET lease_owner = $2, lease_until = now() + make_interval(secs => $3),
                            attempts = d.attempts + 1, updated_at = now()
    WHERE d.id IN (
        SELECT id FROM deliveries WHERE id = ANY($1::uuid[]) AND state = 'pending'
          AND (lease_until IS NULL OR lease_until <= now())
        FOR UPDATE SKIP LOCKED
    )
    RETURNING d.*
)
SELECT c.*, s.url AS subscription_url, s.state AS subscription_state, s.secret_ciphertext, s.client_id,
       s.failing_since
FROM claimed c LEFT JOIN subscriptions s ON s.id = c.subscription_id
"""


class DeliveryQueue:
    """Claim due deliveries fairly across targets, and record what became of each attempt."""

    def __init__(self, pool: asyncpg.Pool, owner: str):
        self._pool = pool
        self.owner = owner

    async def claim(
        self, *, limit: int, per_target: int, busy: dict[str, int], lease_s: float
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries, at most `per_target` in flight per target (counting `busy` ones)."""
        async with self._pool.acquire() as conn:
            candidates = await conn.fetch(_CANDIDATES, per_target, max(limit * 4, 64))
            chosen, taken = [], dict(busy)
            for row in candidates:
                if len(chosen) >= limit:
                    break
                target = row["target_key"]
                # E-mails go one at a time per recipient, so a person reads them in the order they happened.
                allowed = 1 if target.startswith("email:") else per_target
                if taken.get(target, 0) < allowed:
                    taken[target] = taken.get(target, 0) + 1
                    chosen.append(row["id"])
            if not chosen:
                return []
            rows = await conn.fetch(_CLAIM, chosen, self.owner, lease_s)
        return [ClaimedDelivery.of(row) for row in rows]

    async def record(
        self,
        delivery: ClaimedDelivery,
        result: AttemptResult,
        decision: Decision,
        events: list[OutboxEvent],
        now: datetime,
    ) -> bool:
        """Store the attempt's outcome, the subscription's health and the outcome events, in one transaction.

        False when this process lost the lease meanwhile (another worker owns the delivery now).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                """UPDATE deliveries SET state = $3, next_attempt_at = coalesce($4, next_attempt_at),
                          lease_owner = NULL, lease_until = NULL, last_reason = $5, last_status = $6,
                          delivered_at = CASE WHEN $3 = 'delivered' THEN $7 ELSE delivered_at END, updated_at = now()
                   WHERE id = $1 AND lease_owner = $2 AND state = 'pending' AND generation = $8 RETURNING true""",
                delivery.id,
                self.owner,
                decision.state.value,
                decision.next_attempt_at,
                result.reason,
                result.status,
                now,
                delivery.generation,
            )
            if not updated:
                return False
            if delivery.subscription_id is not None:
                await _subscription_health(conn, delivery.subscription_id, result, decision, now)
            await insert_outbox(conn, events)
        return True

    async def release(self) -> None:
        """Give back this process's leases (on shutdown), so others need not wait for them to expire."""
        await self._pool.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND state = 'pending'",
            self.owner,
        )


async def _subscription_health(
    conn: asyncpg.Connection, subscription_id: str, result: AttemptResult, decision: Decision, now: datetime
) -> None:
    """A success ends the failure streak; a failure starts one; a 410 or a long streak disables it."""
    if decision.state is DeliveryState.DELIVERED:
        await conn.execute(
            "UPDATE subscriptions SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
            subscription_id,
        )
    elif decision.disable_subscription:
        await conn.execute(
            """UPDATE subscriptions SET state = 'disabled', disabled_reason = $2, updated_at = now()
               WHERE id = $1 AND state = 'active'""",
            subscription_id,
            decision.disable_subscription,
        )
    elif decision.state is not DeliveryState.CANCELLED:
        await conn.execute(
            "UPDATE subscriptions SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL", subscription_id, now
        )
