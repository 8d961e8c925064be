"""Reading and steering deliveries for ops: the list by state, redelivery, the backlog, erasure."""

from typing import Any, NamedTuple

import asyncpg

_NAMES = [
    "id",
    "seq",
    "channel",
    "subscription_id",
    "recipient_id",
    "event_id",
    "event_type",
    "referral_id",
    "concern_id",
    "state",
    "attempts",
    "next_attempt_at",
    "last_reason",
    "last_status",
    "created_at",
    "updated_at",
    "delivered_at",
]
_VIEW = ", ".join(_NAMES)
_VIEW_D = ", ".join(f"d.{name}" for name in _NAMES)


def _view(row: asyncpg.Record) -> dict[str, Any]:
    view = dict(row)
    view["id"] = str(view["id"])
    view["subscription_id"] = str(view["subscription_id"]) if view["subscription_id"] else None
    if view["state"] != "pending":
        view["next_attempt_at"] = None
    return view


class DeliveryLog:
    """Queries over the deliveries table that the API and the metrics need."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def list(
        self,
        *,
        state: str | None,
        subscription_id: str | None,
        channel: str | None,
        after: int,
        limit: int,
        concern_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Deliveries in creation order after a position, filtered by state, subscription, channel and concern."""
        rows = await self._pool.fetch(
            f"""SELECT {_VIEW} FROM deliveries
                WHERE seq > $1 AND ($2::text IS NULL OR state = $2) AND ($3::uuid IS NULL OR subscription_id = $3)
                  AND ($4::text IS NULL OR channel = $4) AND ($6::text IS NULL OR concern_id = $6)
                ORDER BY seq LIMIT $5""",  # noqa: S608 - constant column lists
            after,
            state,
            subscription_id,
            channel,
            limit,
            concern_id,
        )
        return [_view(row) for row in rows]

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        """One delivery, with its subscription's state."""
        row = await self._pool.fetchrow(
            f"""SELECT {_VIEW_D}, s.state AS subscription_state
                FROM deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id WHERE d.id = $1""",  # noqa: S608 - constant column lists
            delivery_id,
        )
        if row is None:
            return None
        view = _view(row)
        view["subscription_state"] = row["subscription_state"]
        return view

    async def redeliver(self, delivery_id: str) -> dict[str, Any] | None:
        """Queue a finished delivery again, now, with a fresh retry window; None when it is still pending."""
        row = await self._pool.fetchrow(
            f"""UPDATE deliveries SET state = 'pending', generation = generation + 1, next_attempt_at = now(),
                       window_started_at = now(), lease_owner = NULL, lease_until = NULL, updated_at = now()
                WHERE id = $1 AND state <> 'pending' RETURNING {_VIEW}""",  # noqa: S608 - constant column lists
            delivery_id,
        )
        return _view(row) if row else None

    async def backlog(self) -> dict[tuple[str, str], int]:
        """Pending deliveries per (channel, target): a subscription id, or `email` for all e-mail."""
        rows = await self._pool.fetch(
            """SELECT channel, CASE WHEN channel = 'webhook' THEN target_key ELSE 'email' END AS target, count(*) AS n
               FROM deliveries WHERE state = 'pending' GROUP BY 1, 2"""
        )
        return {(row["channel"], row["target"]): row["n"] for row in rows}


class CancelledDelivery(NamedTuple):
    """A reporter delivery cancelled because its concern was erased: what its final failure event names."""

    id: str
    channel: str
    event_id: str
    event_type: str
    referral_id: str | None
    attempts: int


async def cancel_reporter_deliveries(conn: asyncpg.Connection, concern_id: str) -> list[CancelledDelivery]:
    """Cancel what is still to be sent to a concern's reporter (the concern was erased); returns those."""
    rows = await conn.fetch(
        """UPDATE deliveries SET state = 'cancelled', last_reason = 'concern_erased', lease_owner = NULL,
                  lease_until = NULL, updated_at = now()
           WHERE concern_id = $1 AND state = 'pending' AND recipient_id = 'reporter'
           RETURNING id, channel, event_id, event_type, referral_id, attempts""",
        concern_id,
    )
    return [CancelledDelivery(str(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]
