"""The ports intake's handlers reach the database through: a unit of work with its repositories.

Small Protocols, each with its in-memory fake beside it (cosmicpython's pattern): the handlers' unit tests run
against `InMemoryUnitOfWork`, production against `adapters/unit_of_work.py`'s `PostgresUnitOfWork`.
"""

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from services.intake.adapters.referral_store import HistoryEntry, StoredReferral
from shared.contracts.referrals import ReferralCreated, ReferralStatusChanged


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


class UnitOfWork(Protocol):
    """One transaction: what happens inside `async with` commits together, or not at all."""

    referrals: ReferralRepository

    async def first_delivery(self, event_id: str) -> bool:
        """Record the event as applied by this service (the inbox); False when it already was."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


@dataclass
class _Tables:
    referrals: dict[str, tuple[str, StoredReferral]] = field(default_factory=dict)
    """referral_id -> (concern_id, referral)"""
    history: dict[str, tuple[str, str, HistoryEntry]] = field(default_factory=dict)
    """event_id -> (concern_id, event_id, step)"""
    processed: set[str] = field(default_factory=set)


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

    def _step(self, event_id: str, concern_id: str, step: HistoryEntry) -> None:
        self._t.history.setdefault(event_id, (concern_id, event_id, step))


class InMemoryUnitOfWork:
    """The in-memory fake of UnitOfWork: call it for a unit (as `Deps.uow`); an error inside rolls back."""

    def __init__(self) -> None:
        self.tables = _Tables()
        self.commits = 0
        self._saved: _Tables | None = None
        self.referrals = InMemoryReferrals(self.tables)

    def __call__(self) -> Self:
        return self

    async def first_delivery(self, event_id: str) -> bool:
        if event_id in self.tables.processed:
            return False
        self.tables.processed.add(event_id)
        return True

    async def __aenter__(self) -> Self:
        self._saved = copy.deepcopy(self.tables)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commits += 1
        elif self._saved is not None:
            self.tables.__dict__.update(self._saved.__dict__)
        self._saved = None
