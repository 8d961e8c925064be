"""The ports intake's handlers reach the database through: a unit of work with its repositories.

Small Protocols, each with its in-memory fake beside it (cosmicpython's pattern): the handlers' unit tests run
against `InMemoryUnitOfWork`, production against `adapters/unit_of_work.py`'s `PostgresUnitOfWork`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from services.intake.adapters.audit import AuditEntry
from services.intake.adapters.concern_store import ConcernFilter, ReceiptCodeTaken, StoredConcern
from services.intake.adapters.reference_data import departments_of
from services.intake.adapters.referral_store import HistoryEntry, StoredReferral
from services.intake.adapters.sealing import Sealed
from services.intake.domain.concern import NewConcern
from services.intake.domain.directory import Department
from shared.auth.principal import Principal
from shared.contracts.envelope import Envelope
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.referrals import ReferralCreated, ReferralStatusChanged
from shared.db.unit_of_work import InMemoryUnit, Unit


class ConcernRepository(Protocol):
    """The stored concerns, their data keys and the Idempotency-Keys that name them."""

    async def add(self, concern: NewConcern, sealed: Sealed, event: Envelope[Any], topic: str) -> bool:
        """Store the concern, its wrapped data key and its event (queued for `topic`) together; False, storing
        nothing, when its external ref is taken. Raises ReceiptCodeTaken when another concern has its code."""

    async def by_external_ref(self, system: str, external_id: str) -> StoredConcern | None:
        """The concern stored under a source system's id, if any."""

    async def claim_idempotency_key(
        self, client_id: str, key: str, request_hash: str, concern_id: str
    ) -> tuple[str, str] | None:
        """Claim a client's key for this request; None when claimed now, else (request hash, concern id) of its
        first use (a concurrent first use makes this wait until that unit ends)."""

    async def repoint_idempotency_key(self, client_id: str, key: str, concern_id: str) -> None:
        """Let a key answer for the concern its request turned out to replay (found by external ref)."""

    async def get(self, concern_id: str) -> StoredConcern | None:
        """The concern with its wrapped data key (None when erased), or None when there is no such concern."""

    async def by_receipt_code(self, code: str, reporter_client_id: str | None) -> StoredConcern | None:
        """The concern with this receipt code, only among `reporter_client_id`'s own reports unless it is None."""

    async def matching(self, where: ConcernFilter, *, limit: int, offset: int) -> list[StoredConcern]:
        """Concerns matching `where`, newest first (ties by id, so pages never overlap)."""

    async def lock_for_erasure(self, concern_id: str) -> tuple[str, datetime | None] | None:
        """Lock the concern to the end of the unit; its subject key and erasure time, or None when unknown."""

    async def shred(self, concern_id: str, erased_at: datetime) -> None:
        """Destroy the data key and drop the ciphertext: the details are unreadable from now on."""

    async def register_consent(self, concern_id: str, consent: str, registered_by: str, at: datetime) -> bool:
        """Store the resident's answer on consent, who registered it and when; False (nothing stored) when the
        concern is erased or another answer is registered."""


class ReferenceStore(Protocol):
    """The stored reference directory (intake owns it) and the department tables derived from it."""

    async def stored(self) -> tuple[ReferenceDirectory, str | None] | None:
        """The stored directory and the version last published, or None before the first start stored one."""

    async def store(self, directory: ReferenceDirectory, *, updated_by: str) -> None:
        """Replace the directory (the reference file's version stays) and its departments."""

    async def departments(self) -> list[Department]:
        """Every stored department with its consultants and associations."""

    async def mark_published(self, version: str) -> None:
        """The broker acknowledged this version (recorded only while it is still the stored one)."""


class Outbox(Protocol):
    """Events to publish, committed with the change that made them."""

    async def add(self, topic: str, events: list[Envelope[Any]]) -> None:
        """Queue the events for `topic` (a contract topic name), in order."""


class AuditLog(Protocol):
    """Every read of personal details and every erasure, with who, role, basis and when."""

    async def record(self, concern_id: str, principal: Principal, *, action: str, basis: str) -> None:
        """One audited access; it commits with the unit of work, before the details leave the service."""

    async def trail(self, concern_id: str) -> list[AuditEntry]:
        """The concern's audited accesses, oldest first."""


class ReferralRepository(Protocol):
    """intake's projection of referral-events: each concern's referrals and their history."""

    async def add(self, event_id: str, data: ReferralCreated) -> None:
        """A new referral (status requested) and its `referred` step; a known referral is left as it is."""

    async def move(self, event_id: str, data: ReferralStatusChanged) -> None:
        """A move along the lifecycle and its step; a late, older move never overwrites a newer status."""

    async def add_step(self, event_id: str, referral_id: str, concern_id: str, event: str, at: datetime) -> None:
        """A step without a move (a breached or escalated clock), once per event."""

    async def of_concern(self, concern_id: str) -> list[StoredReferral]:
        """The concern's referrals, oldest first."""

    async def history_of(self, concern_id: str) -> list[HistoryEntry]:
        """The concern's referral steps, oldest first."""

    async def statuses_of(self, concern_ids: list[str]) -> dict[str, list[str]]:
        """Each listed concern's referral statuses, oldest referral first."""


class UnitOfWork(Unit, Protocol):
    """One transaction (`Unit`) over these repositories."""

    concerns: ConcernRepository
    referrals: ReferralRepository
    audit: AuditLog
    outbox: Outbox
    reference: ReferenceStore

    async def first_delivery(self, event_id: str) -> bool:
        """Record the event as applied by this service (the inbox); False when it already was."""


@dataclass
class _Tables:
    concerns: dict[str, StoredConcern] = field(default_factory=dict)
    audit: list[tuple[str, AuditEntry]] = field(default_factory=list)
    referrals: dict[str, tuple[str, StoredReferral]] = field(default_factory=dict)
    """referral_id -> (concern_id, referral)"""
    history: dict[str, tuple[str, str, HistoryEntry]] = field(default_factory=dict)
    """event_id -> (concern_id, event_id, step)"""
    idempotency_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(client_id, key) -> (request hash, concern id)"""
    processed: set[str] = field(default_factory=set)
    outbox: list[tuple[str, Envelope[Any]]] = field(default_factory=list)
    reference: tuple[ReferenceDirectory, str | None] | None = None


class InMemoryConcerns:
    """The in-memory fake of ConcernRepository; `store` puts a concern in (as intake's accept would)."""

    def __init__(self, tables: _Tables):
        self._t = tables

    def store(self, concern: StoredConcern) -> None:
        self._t.concerns[concern.id] = concern

    async def add(self, concern: NewConcern, sealed: Sealed, event: Envelope[Any], topic: str) -> bool:
        report, ref = concern.report, concern.report.external_ref
        stored = self._t.concerns.values()
        if any(c.receipt_code == concern.receipt_code for c in stored):
            raise ReceiptCodeTaken
        if ref is not None and any((c.external_system, c.external_id) == (ref.system, ref.id) for c in stored):
            return False
        self._t.concerns[concern.id] = StoredConcern(
            concern.id, concern.receipt_code, concern.department.organisation_id, concern.department.id,
            concern.department.municipality_code, concern.subject_key, [c.value for c in report.categories],
            report.severity.value, report.consent.value, report.legal_basis, report.observed_at, concern.received_at,
            report.reporter.role.value, concern.channel.value, concern.source_system, concern.reporter_client_id,
            concern.request_hash, concern.has_reporter_contact, report.resident is not None, sealed.ciphertext, None,
            sealed.wrapped_key, ref.system if ref else None, ref.id if ref else None,
        )  # fmt: skip
        self._t.outbox.append((topic, event))
        return True

    async def by_external_ref(self, system: str, external_id: str) -> StoredConcern | None:
        found = (c for c in self._t.concerns.values() if (c.external_system, c.external_id) == (system, external_id))
        return next(found, None)

    async def claim_idempotency_key(
        self, client_id: str, key: str, request_hash: str, concern_id: str
    ) -> tuple[str, str] | None:
        first = self._t.idempotency_keys.get((client_id, key))
        if first is None:
            self._t.idempotency_keys[(client_id, key)] = (request_hash, concern_id)
        return first

    async def repoint_idempotency_key(self, client_id: str, key: str, concern_id: str) -> None:
        request_hash, _ = self._t.idempotency_keys[(client_id, key)]
        self._t.idempotency_keys[(client_id, key)] = (request_hash, concern_id)

    async def get(self, concern_id: str) -> StoredConcern | None:
        return self._t.concerns.get(concern_id)

    async def by_receipt_code(self, code: str, reporter_client_id: str | None) -> StoredConcern | None:
        for concern in self._t.concerns.values():
            if concern.receipt_code == code and reporter_client_id in (None, concern.reporter_client_id):
                return concern
        return None

    async def matching(self, where: ConcernFilter, *, limit: int, offset: int) -> list[StoredConcern]:
        found = [c for c in self._t.concerns.values() if _matches(where, c)]
        found.sort(key=lambda c: (c.received_at, c.id), reverse=True)
        return found[offset : offset + limit]

    async def lock_for_erasure(self, concern_id: str) -> tuple[str, datetime | None] | None:
        found = self._t.concerns.get(concern_id)
        return (found.subject_key, found.erased_at) if found else None

    async def shred(self, concern_id: str, erased_at: datetime) -> None:
        found = self._t.concerns[concern_id]
        self._t.concerns[concern_id] = replace(found, sealed=None, wrapped_key=None, erased_at=erased_at)

    async def register_consent(self, concern_id: str, consent: str, registered_by: str, at: datetime) -> bool:
        found = self._t.concerns.get(concern_id)
        if found is None or found.erased_at is not None:
            return False
        if found.consent_registered_at is not None and found.consent != consent:
            return False
        changed = replace(found, consent=consent, consent_registered_by=registered_by, consent_registered_at=at)
        self._t.concerns[concern_id] = changed
        return True


class InMemoryReference:
    """The in-memory fake of ReferenceStore."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def stored(self) -> tuple[ReferenceDirectory, str | None] | None:
        return self._t.reference

    async def store(self, directory: ReferenceDirectory, *, updated_by: str) -> None:
        self._t.reference = (directory, self._t.reference[1] if self._t.reference else None)

    async def departments(self) -> list[Department]:
        return sorted(departments_of(self._t.reference[0]), key=lambda d: d.id) if self._t.reference else []

    async def mark_published(self, version: str) -> None:
        if self._t.reference is not None and self._t.reference[0].version == version:
            self._t.reference = (self._t.reference[0], version)


class InMemoryOutbox:
    """The in-memory fake of Outbox: (topic, event) in the order they were queued."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def add(self, topic: str, events: list[Envelope[Any]]) -> None:
        self._t.outbox.extend((topic, event) for event in events)


def _matches(where: ConcernFilter, concern: StoredConcern) -> bool:
    reporters = {where.reporter_client_id, None} if where.or_inbound else {where.reporter_client_id}
    return (
        (where.reporter_client_id is None or concern.reporter_client_id in reporters)
        and where.organisation_id in (None, concern.organisation_id)
        and (not where.department_ids or concern.department_id in where.department_ids)
        and where.external_system in (None, concern.external_system)
        and where.external_id in (None, concern.external_id)
    )


class InMemoryAudit:
    """The in-memory fake of AuditLog."""

    def __init__(self, tables: _Tables, clock: Callable[[], datetime]):
        self._t = tables
        self._clock = clock

    async def record(self, concern_id: str, principal: Principal, *, action: str, basis: str) -> None:
        entry = AuditEntry(principal.client_id, principal.role.value, action, basis, self._clock())
        self._t.audit.append((concern_id, entry))

    async def trail(self, concern_id: str) -> list[AuditEntry]:
        return [entry for c, entry in self._t.audit if c == concern_id]


class InMemoryReferrals:
    """The in-memory fake of ReferralRepository, with the same rules as the SQL."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def add(self, event_id: str, data: ReferralCreated) -> None:
        if data.referral_id not in self._t.referrals:
            referral = StoredReferral(
                data.referral_id, data.target.value, data.recipient_id, data.department_id, data.municipality_code,
                [c.value for c in data.categories], data.disclosure.value, data.legal_basis.value, data.task.value,
                "requested", data.created_at, data.created_at,
            )  # fmt: skip
            self._t.referrals[data.referral_id] = (data.concern_id, referral)
        self._step(event_id, data.concern_id, HistoryEntry(data.referral_id, "referred", None, "requested", None,
                                                           None, data.created_at))  # fmt: skip

    async def move(self, event_id: str, data: ReferralStatusChanged) -> None:
        found = self._t.referrals.get(data.referral_id)
        if found is not None and found[1].updated_at <= data.changed_at:
            concern_id, referral = found
            moved = replace(referral, status=data.to_status.value, updated_at=data.changed_at)
            self._t.referrals[data.referral_id] = (concern_id, moved)
        if data.merged_into_open and data.rerouted_to_referral_id and data.rerouted_task:
            taken_id = data.rerouted_to_referral_id
            if taken_id in self._t.referrals:
                concern_id, taken = self._t.referrals[taken_id]
                self._t.referrals[taken_id] = (concern_id, replace(taken, task=data.rerouted_task.value))
        outcome = data.outcome.value if data.outcome else None
        step = HistoryEntry(data.referral_id, "status_changed", data.from_status.value, data.to_status.value,
                            data.reason, outcome, data.changed_at)  # fmt: skip
        self._step(event_id, data.concern_id, step)

    async def add_step(self, event_id: str, referral_id: str, concern_id: str, event: str, at: datetime) -> None:
        self._step(event_id, concern_id, HistoryEntry(referral_id, event, None, None, None, None, at))

    async def of_concern(self, concern_id: str) -> list[StoredReferral]:
        mine = [r for c, r in self._t.referrals.values() if c == concern_id]
        return sorted(mine, key=lambda r: (r.created_at, r.referral_id))

    async def history_of(self, concern_id: str) -> list[HistoryEntry]:
        mine = [(step.at, event_id, step) for c, event_id, step in self._t.history.values() if c == concern_id]
        return [step for _, _, step in sorted(mine, key=lambda s: (s[0], s[1]))]

    async def statuses_of(self, concern_ids: list[str]) -> dict[str, list[str]]:
        statuses: dict[str, list[str]] = {}
        for concern_id in concern_ids:
            for referral in await self.of_concern(concern_id):
                statuses.setdefault(concern_id, []).append(referral.status)
        return statuses

    def _step(self, event_id: str, concern_id: str, step: HistoryEntry) -> None:
        self._t.history.setdefault(event_id, (concern_id, event_id, step))


class InMemoryUnitOfWork(InMemoryUnit):
    """The in-memory fake of UnitOfWork: call it for a unit (as `Deps.uow`); an error inside rolls back."""

    def __init__(self) -> None:
        super().__init__(_Tables())
        self.concerns = InMemoryConcerns(self.tables)
        self.referrals = InMemoryReferrals(self.tables)
        self.audit = InMemoryAudit(self.tables, lambda: datetime.now(UTC))
        self.outbox = InMemoryOutbox(self.tables)
        self.reference = InMemoryReference(self.tables)

    async def first_delivery(self, event_id: str) -> bool:
        if event_id in self.tables.processed:
            return False
        self.tables.processed.add(event_id)
        return True
