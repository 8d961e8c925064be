"""The delivery queue in PostgreSQL: written by the consumer, claimed with a lease by workers in any process."""

from dataclasses import dataclass, fields
from datetime import datetime

import asyncpg

from services.notify.adapters.sticky import StickyConnection
from services.notify.domain.model import Channel, PlannedDelivery


@dataclass(frozen=True, kw_only=True)
class ClaimedDelivery(PlannedDelivery):
    """A delivery this process holds the lease on: the planned delivery, with what sending it needs."""

    attempts: int  # counting the attempt about to be made
    generation: int
    window_started_at: datetime
    subscription_url: str | None
    subscription_state: str | None
    secret_ciphertext: bytes | None
    client_id: str | None
    failing_since: datetime | None
    traceparent: str | None = None
    """The trace of the event that planned it (shared/tracing.py; NULL while tracing is off)."""

    @classmethod
    def of(cls, row: asyncpg.Record) -> "ClaimedDelivery":
        """From a row of the claim query."""
        values = {name: row[name] for name in cls.__dataclass_fields__ if name != "traceparent"}
        values["traceparent"] = row.get("traceparent")
        values["id"] = str(row["id"])
        values["channel"] = Channel(row["channel"])
        values["subscription_id"] = str(row["subscription_id"]) if row["subscription_id"] else None
        return cls(**values)


_INSERT_COLUMNS = [f.name for f in fields(PlannedDelivery)]
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


# One round trip: pick the oldest due deliveries per target, no more per target than its free slots
# (`busy` counts what this process holds; e-mail targets have a limit of their own), and lease them.
_CLAIM = """
WITH targets AS (
    SELECT DISTINCT target_key FROM deliveries WHERE state = 'pending' AND next_attempt_at <= now()
), busy AS (
    SELECT * FROM unnest($3::text[], $4::int[]) AS b(target_key, n)
), candidates AS (
    SELECT d.id, d.target_key, d.next_attempt_at, d.seq,
           row_number() OVER (PARTITION BY d.target_key ORDER BY d.next_attempt_at, d.seq) AS rn
    FROM targets t CROSS JOIN LATERAL (
        SELECT id, target_key, next_attempt_at, seq FROM deliveries d
        WHERE d.target_key = t.target_key AND d.state = 'pending' AND d.next_attempt_at <= now()
          AND (d.lease_until IS NULL OR d.lease_until <= now())
        ORDER BY d.next_attempt_at, d.seq LIMIT $1
    ) d
), chosen AS (
    SELECT c.id FROM candidates c LEFT JOIN busy b ON b.target_key = c.target_key
    WHERE c.rn <= (CASE WHEN c.target_key LIKE 'email:%' THEN $7 ELSE $1 END) - coalesce(b.n, 0)
    ORDER BY c.next_attempt_at, c.seq LIMIT $2
), claimed AS (
    UPDATE deliveries d SET lease_owner = $5, lease_until = now() + make_interval(secs => $6),
                            attempts = d.attempts + 1, updated_at = now()
    WHERE d.id IN (
        SELECT id FROM deliveries WHERE id IN (SELECT id FROM chosen) AND state = 'pending'
          AND (lease_until IS NULL OR lease_until <= now())
        FOR UPDATE SKIP LOCKED
    )
    RETURNING d.*
)
SELECT c.*, s.url AS subscription_url, s.state AS subscription_state, s.secret_ciphertext, s.client_id,
       s.failing_since
FROM claimed c LEFT JOIN subscriptions s ON s.id = c.subscription_id
ORDER BY c.next_attempt_at, c.seq
"""


class DeliveryQueue:
    """Claims due deliveries fairly across targets, with a lease; gives leases back on shutdown."""

    def __init__(self, pool: asyncpg.Pool, owner: str):
        self._pool = pool
        self._kept = StickyConnection(pool)  # the claim loop queries several times a second
        self.owner = owner

    async def claim(
        self, *, limit: int, per_target: int, email_limit: int, busy: dict[str, int], lease_s: float
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries, per target at most `per_target` (e-mail: `email_limit`) with `busy`."""
        targets = list(busy)
        async with self._kept.connection() as conn:
            rows = await conn.fetch(
                _CLAIM, per_target, limit, targets, [busy[t] for t in targets], self.owner, lease_s, email_limit
            )
        return [ClaimedDelivery.of(row) for row in rows]

    async def extend_leases(self, lease_s: float) -> None:
        """Keep this process's leases alive (a process that died stops doing this, and its leases run out)."""
        async with self._kept.connection() as conn:
            await conn.execute(
                """UPDATE deliveries SET lease_until = now() + make_interval(secs => $2)
                   WHERE lease_owner = $1 AND state = 'pending'""",
                self.owner,
                lease_s,
            )

    async def release(self) -> None:
        """Give back this process's leases (on shutdown), so others need not wait for them to expire."""
        await self._kept.close()
        await self._pool.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND state = 'pending'",
            self.owner,
        )
