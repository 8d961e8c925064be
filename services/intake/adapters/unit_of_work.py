"""The handlers' unit of work on PostgreSQL: one connection from the pool, one transaction."""

from datetime import datetime
from typing import Any

import asyncpg

from services.intake.adapters import audit, concern_store, reference_data, referral_store
from services.intake.adapters.audit import AuditEntry
from services.intake.adapters.concern_store import ConcernFilter, StoredConcern
from services.intake.adapters.referral_store import HistoryEntry, StoredReferral
from services.intake.adapters.sealing import Sealed
from services.intake.domain.concern import NewConcern
from services.intake.domain.directory import Department
from shared import outbox
from shared.auth.principal import Principal
from shared.contracts.envelope import Envelope
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.referrals import ReferralCreated, ReferralStatusChanged
from shared.db.inbox import first_delivery
from shared.db.unit_of_work import PostgresUnit


class PostgresConcerns:
    """ConcernRepository on the `concerns`, `concern_keys` and `idempotency_keys` tables: on the unit's connection,
    or on the pool outside a unit (each call then its own statement, committed on its own)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool):
        self._conn = conn

    async def add(self, concern: NewConcern, sealed: Sealed, event: Envelope[Any], topic: str) -> bool:
        return await concern_store.insert_concern(self._conn, concern, sealed, event, topic)

    async def by_external_ref(self, system: str, external_id: str) -> StoredConcern | None:
        return await concern_store.find_by_external_ref(self._conn, system, external_id)

    async def claim_idempotency_key(
        self, client_id: str, key: str, request_hash: str, concern_id: str
    ) -> tuple[str, str] | None:
        return await concern_store.claim_idempotency_key(self._conn, client_id, key, request_hash, concern_id)

    async def repoint_idempotency_key(self, client_id: str, key: str, concern_id: str) -> None:
        await concern_store.repoint_idempotency_key(self._conn, client_id, key, concern_id)

    async def get(self, concern_id: str) -> StoredConcern | None:
        return await concern_store.get_concern(self._conn, concern_id)

    async def by_receipt_code(self, code: str, reporter_client_id: str | None) -> StoredConcern | None:
        return await concern_store.find_by_receipt_code(self._conn, code, reporter_client_id)

    async def matching(self, where: ConcernFilter, *, limit: int, offset: int) -> list[StoredConcern]:
        return await concern_store.list_concerns(self._conn, where, limit=limit, offset=offset)

    async def lock_for_erasure(self, concern_id: str) -> tuple[str, datetime | None] | None:
        return await concern_store.lock_for_erasure(self._conn, concern_id)

    async def shred(self, concern_id: str, erased_at: datetime) -> None:
        await concern_store.shred(self._conn, concern_id, erased_at)

    async def register_consent(self, concern_id: str, consent: str, registered_by: str, at: datetime) -> bool:
        return await concern_store.register_consent(self._conn, concern_id, consent, registered_by, at)


class PostgresReference:
    """ReferenceStore on `reference_directory` and the organisation and department tables."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def stored(self) -> tuple[ReferenceDirectory, str | None] | None:
        return await reference_data.stored_directory(self._conn)

    async def store(self, directory: ReferenceDirectory, *, updated_by: str) -> None:
        await reference_data.store_directory(self._conn, directory, updated_by=updated_by)

    async def departments(self) -> list[Department]:
        return await reference_data.read_departments(self._conn)

    async def mark_published(self, version: str) -> None:
        await reference_data.mark_published(self._conn, version)


class PostgresOutbox:
    """Outbox on the shared outbox table, in the unit's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def add(self, topic: str, events: list[Envelope[Any]]) -> None:
        await outbox.enqueue(self._conn, topic, events)


class PostgresAudit:
    """AuditLog on the `audit_log` table."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def record(self, concern_id: str, principal: Principal, *, action: str, basis: str) -> None:
        await audit.record_access(self._conn, concern_id, principal, action=action, basis=basis)

    async def trail(self, concern_id: str) -> list[AuditEntry]:
        return await audit.audit_trail(self._conn, concern_id)


class PostgresReferrals:
    """ReferralRepository on the `referrals` and `referral_history` tables."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def add(self, event_id: str, data: ReferralCreated) -> None:
        await referral_store.record_created(self._conn, event_id, data)

    async def move(self, event_id: str, data: ReferralStatusChanged) -> None:
        await referral_store.record_status(self._conn, event_id, data)

    async def add_step(self, event_id: str, referral_id: str, concern_id: str, event: str, at: datetime) -> None:
        await referral_store.record_history(
            self._conn, event_id, referral_id, concern_id, event, None, None, None, None, at
        )

    async def of_concern(self, concern_id: str) -> list[StoredReferral]:
        return await referral_store.referrals_of(self._conn, concern_id)

    async def history_of(self, concern_id: str) -> list[HistoryEntry]:
        return await referral_store.history_of(self._conn, concern_id)

    async def statuses_of(self, concern_ids: list[str]) -> dict[str, list[str]]:
        return await referral_store.statuses_of(self._conn, concern_ids)


class PostgresUnitOfWork(PostgresUnit):
    """UnitOfWork on PostgreSQL; `consumer` names this service in the processed-events inbox."""

    def __init__(self, pool: asyncpg.Pool, consumer: str):
        super().__init__(pool)
        self._consumer = consumer

    async def first_delivery(self, event_id: str) -> bool:
        return await first_delivery(self.conn, self._consumer, event_id)

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.concerns = PostgresConcerns(conn)
        self.referrals = PostgresReferrals(conn)
        self.audit = PostgresAudit(conn)
        self.outbox = PostgresOutbox(conn)
        self.reference = PostgresReference(conn)
