"""Subscriptions in notify's PostgreSQL database."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notify.domain.fanout import SubscriptionView

_COLUMNS = "id, client_id, url, event_types, description, state, disabled_reason, failing_since, created_at, updated_at"


@dataclass(frozen=True)
class SubscriptionRecord:
    """A subscription as stored (without its secret)."""

    id: str
    client_id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None
    state: str
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> "SubscriptionRecord":
        """From a row with _COLUMNS."""
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "id": str(row["id"]), "event_types": tuple(row["event_types"])})


class SubscriptionStore:
    """Create, read, delete and re-enable subscriptions."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def create(
        self,
        *,
        subscription_id: str,
        client_id: str,
        url: str,
        event_types: list[str],
        description: str | None,
        secret_ciphertext: bytes,
    ) -> SubscriptionRecord:
        """Store a new active subscription."""
        row = await self._pool.fetchrow(
            f"""INSERT INTO subscriptions (id, client_id, url, event_types, description, secret_ciphertext)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}""",  # noqa: S608 - constant column lists
            subscription_id,
            client_id,
            url,
            event_types,
            description,
            secret_ciphertext,
        )
        return SubscriptionRecord.of(row)

    async def get(self, subscription_id: str) -> SubscriptionRecord | None:
        """One subscription that is not deleted."""
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1 AND state <> 'deleted'",  # noqa: S608
            subscription_id,
        )
        return SubscriptionRecord.of(row) if row else None

    async def list(self, client_id: str | None, *, after: int, limit: int) -> list[tuple[int, SubscriptionRecord]]:
        """A client's subscriptions (everyone's when client_id is None), oldest first, after a position."""
        rows = await self._pool.fetch(
            f"""SELECT row_number() OVER (ORDER BY created_at, id) AS position, {_COLUMNS} FROM subscriptions
                WHERE state <> 'deleted' AND ($1::text IS NULL OR client_id = $1)
                ORDER BY created_at, id OFFSET $2 LIMIT $3""",  # noqa: S608 - constant column lists
            client_id,
            after,
            limit,
        )
        return [(row["position"], SubscriptionRecord.of(row)) for row in rows]

    async def delete(self, subscription_id: str) -> None:
        """Mark deleted: nothing more is delivered to it, the delivery history stays for ops."""
        await self._pool.execute(
            "UPDATE subscriptions SET state = 'deleted', updated_at = now() WHERE id = $1", subscription_id
        )

    async def enable(self, subscription_id: str) -> SubscriptionRecord | None:
        """Make a disabled subscription active again, with a clean failure streak."""
        row = await self._pool.fetchrow(
            f"""UPDATE subscriptions SET state = 'active', disabled_reason = NULL, failing_since = NULL,
                       updated_at = now()
                WHERE id = $1 AND state <> 'deleted' RETURNING {_COLUMNS}""",  # noqa: S608 - constant column lists
            subscription_id,
        )
        return SubscriptionRecord.of(row) if row else None


async def active_subscriptions(conn: asyncpg.Connection) -> list[SubscriptionView]:
    """Every active subscription (planners check event type and scope)."""
    rows = await conn.fetch("SELECT id, client_id, event_types FROM subscriptions WHERE state = 'active'")
    return [SubscriptionView(str(r["id"]), r["client_id"], frozenset(r["event_types"])) for r in rows]
