"""The handlers' unit of work on PostgreSQL: one connection from the pool, one transaction."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from services.routing.adapters import referral_store, subjects, suggestion_store
from services.routing.adapters.clocks import PostgresClocks
from services.routing.domain.document import RulesDocument
from services.routing.domain.referral import Referral
from services.routing.domain.suggestions import Suggestion
from shared import outbox
from shared.contracts.envelope import Envelope
from shared.contracts.vocabulary import ReferralStatus
from shared.db.unit_of_work import PostgresUnit
from shared.outbox import OutboxRecord

if TYPE_CHECKING:
    from services.routing.handlers.deps import RulesInForce


class PostgresReferrals:
    """ReferralRepository on `referrals` and `referral_transitions` (the concern's lock: an advisory lock); new
    referrals' events go to `topic`."""

    def __init__(self, conn: asyncpg.Connection, topic: str):
        self._conn = conn
        self._topic = topic

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

    async def add_created(self, referrals: list[Referral], records: list[OutboxRecord]) -> None:
        # The referrals, their events and the relay's wake-up in one statement.
        effect = (referral_store.insert_sql(), referral_store.insert_args(referrals)) if referrals else None
        await outbox.enqueue(self._conn, self._topic, records, effect=effect)

    async def mark_concern_erased(self, concern_id: str, at: datetime) -> int:
        return await referral_store.mark_concern_erased(self._conn, concern_id, at)

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

    async def add_many(self, suggestions: list[Suggestion]) -> None:
        await suggestion_store.insert_many(self._conn, suggestions)


class PostgresSubjects:
    """Subjects on `subject_concerns`."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def record_and_read(
        self, concerns: list[tuple[str, str, datetime]], subject_keys: list[str], after: datetime
    ) -> tuple[dict[str, dict[str, datetime]], set[str]]:
        return await subjects.record_and_read(self._conn, concerns, subject_keys, after)

    async def windows(self, subject_keys: list[str], since: datetime) -> dict[str, list[datetime]]:
        return await subjects.windows(self._conn, subject_keys, since)

    async def forget(self, concern_id: str) -> str | None:
        return await subjects.forget(self._conn, concern_id)


class PostgresOutbox:
    """Outbox on the shared outbox table, in the unit's transaction."""

    def __init__(self, conn: asyncpg.Connection, topic: str):
        self._conn = conn
        self._topic = topic

    async def add(self, events: list[Envelope[Any]]) -> None:
        await outbox.enqueue(self._conn, self._topic, events)


_FIRST_DELIVERIES = (
    "WITH fresh AS (INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) "
    "ON CONFLICT DO NOTHING RETURNING event_id) "
    "SELECT event_id, (SELECT coalesce(max(version), 0) FROM rules_versions) AS rules_version FROM fresh"
)
"""The shared inbox for a batch, and the rules version in force in the same round trip."""


class PostgresUnitOfWork(PostgresUnit):
    """UnitOfWork on PostgreSQL; `rules` caches the rules in force, `topic` is where the outbox's events go,
    `consumer` names this service in the processed-events inbox."""

    def __init__(self, pool: asyncpg.Pool, rules: "RulesInForce", topic: str, consumer: str):
        super().__init__(pool)
        self._rules = rules
        self._topic = topic
        self._consumer = consumer

    async def rules(self, version: int | None = None) -> tuple[int, RulesDocument]:
        return await self._rules.get(self.conn, version)

    async def first_deliveries(self, event_ids: list[str]) -> tuple[set[str], int]:
        rows = await self.conn.fetch(_FIRST_DELIVERIES, self._consumer, event_ids)
        return {r["event_id"] for r in rows}, (rows[0]["rules_version"] if rows else 0)

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.referrals = PostgresReferrals(conn, self._topic)
        self.suggestions = PostgresSuggestions(conn)
        self.subjects = PostgresSubjects(conn)
        self.clocks = PostgresClocks(conn)
        self.outbox = PostgresOutbox(conn, self._topic)
