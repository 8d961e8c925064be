"""The handlers' unit of work on PostgreSQL: one connection from the pool, one transaction."""

from typing import TYPE_CHECKING, Any

import asyncpg

from services.routing.adapters import referral_store, suggestion_store
from services.routing.adapters.clocks import PostgresClocks
from services.routing.domain.document import RulesDocument
from services.routing.domain.referral import Referral
from services.routing.domain.suggestions import Suggestion
from shared import outbox
from shared.contracts.envelope import Envelope
from shared.contracts.vocabulary import ReferralStatus
from shared.db.unit_of_work import PostgresUnit

if TYPE_CHECKING:
    from services.routing.handlers.deps import RulesInForce


class PostgresReferrals:
    """ReferralRepository on `referrals` and `referral_transitions` (the concern's lock: an advisory lock)."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def lock_concern_of(self, referral_id: str) -> list[Referral]:
        return await referral_store.lock_concern(self._conn, referral_id)

    async def lock_concern(self, concern_id: str) -> list[Referral]:
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('routing.concern:' || $1, 0))", concern_id
        )
        rows = await self._conn.fetch(
            "SELECT * FROM referrals WHERE concern_id = $1 ORDER BY referral_id FOR UPDATE", concern_id
        )
        return [referral_store.to_referral(row) for row in rows]

    async def add(self, referrals: list[Referral]) -> None:
        await referral_store.insert_many(self._conn, referrals)

    async def save_move(self, referral: Referral) -> None:
        await referral_store.save_move(self._conn, referral)

    async def save_merge(self, referral: Referral) -> None:
        await referral_store.save_merge(self._conn, referral)

    async def record_transition(self, referral: Referral, before: ReferralStatus, **move: Any) -> None:
        await referral_store.record_transition(self._conn, referral, before, **move)


class PostgresSuggestions:
    """SuggestionRepository on `referral_suggestions`."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
        return await suggestion_store.get(self._conn, suggestion_id, for_update=for_update)

    async def save_decision(self, suggestion: Suggestion) -> None:
        await suggestion_store.save_decision(self._conn, suggestion)


class PostgresOutbox:
    """Outbox on the shared outbox table, in the unit's transaction."""

    def __init__(self, conn: asyncpg.Connection, topic: str):
        self._conn = conn
        self._topic = topic

    async def add(self, events: list[Envelope[Any]]) -> None:
        await outbox.enqueue(self._conn, self._topic, events)


class PostgresUnitOfWork(PostgresUnit):
    """UnitOfWork on PostgreSQL; `rules` caches the rules in force, `topic` is where the outbox's events go."""

    def __init__(self, pool: asyncpg.Pool, rules: "RulesInForce", topic: str):
        super().__init__(pool)
        self._rules = rules
        self._topic = topic

    async def rules(self) -> tuple[int, RulesDocument]:
        return await self._rules.get(self.conn)

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.referrals = PostgresReferrals(conn)
        self.suggestions = PostgresSuggestions(conn)
        self.clocks = PostgresClocks(conn)
        self.outbox = PostgresOutbox(conn, self._topic)
