"""The ports routing's move and decision handlers reach the database through: a unit of work with repositories.

Small Protocols, each with its in-memory fake beside it (cosmicpython's pattern): the handlers' unit tests run
against `InMemoryUnitOfWork`, production against `adapters/unit_of_work.py`'s `PostgresUnitOfWork`.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from services.routing.domain.document import RulesDocument
from services.routing.domain.referral import Referral
from services.routing.domain.repeats import REPEAT_WINDOW
from services.routing.domain.suggestions import Suggestion
from shared.contracts.envelope import Envelope, decode
from shared.contracts.vocabulary import ReferralStatus
from shared.db.unit_of_work import InMemoryUnit, Unit
from shared.outbox import OutboxRecord


class ReferralRepository(Protocol):
    """The referrals and their moves."""

    async def lock_concern_of(self, referral_id: str) -> list[Referral]:
        """Every referral of the referral's concern, under the concern's lock to the end of the unit; empty when
        there is no such referral (moves of one concern decide one after the other)."""

    async def lock_concern(self, concern_id: str) -> list[Referral]:
        """Every referral of the concern, under the same lock."""

    async def add(self, referrals: list[Referral]) -> None:
        """New referrals; an id that exists already is left as it is (ids are deterministic)."""

    async def add_created(self, referrals: list[Referral], records: list[OutboxRecord]) -> None:
        """New referrals (as `add`) and their referral.created.v1 outbox records, in one statement."""

    async def mark_concern_erased(self, concern_id: str, at: datetime) -> int:
        """Flag the concern's referrals (its personal details are gone from intake); returns how many."""

    async def save_move(self, referral: Referral) -> None:
        """The state a move produced: status, moves so far, outcome, reject reason."""

    async def save_merge(self, referral: Referral) -> None:
        """An open referral that took a re-routed one over: its task, urgency and due times."""

    async def record_transition(self, referral: Referral, before: ReferralStatus, **move: Any) -> None:
        """One line of the referral's history (reason, note, changed_by, changed_by_role, changed_at, rerouted_to)."""


class SuggestionRepository(Protocol):
    """The suggestions hints made, and the consultants' decisions on them."""

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
        """One suggestion, locked to the end of the unit when `for_update`."""

    async def save_decision(self, suggestion: Suggestion) -> None:
        """A decision (who, when, why, the referral that carries a confirmation), only on an open suggestion."""

    async def add_many(self, suggestions: list[Suggestion]) -> None:
        """New suggestions; one recorded before (a redelivery) is left as it is."""


class Subjects(Protocol):
    """Each subject's concerns (subject_concerns): the durable truth of the repeat rule's 90-day windows."""

    async def record_and_read(
        self, concerns: list[tuple[str, str, datetime]], subject_keys: list[str], after: datetime
    ) -> tuple[dict[str, dict[str, datetime]], set[str]]:
        """Remember the (subject_key, concern_id, reported_at) of applied concerns and read the concerns (id ->
        reported_at) of `subject_keys` reported after `after` as they were before; also which of `concerns` were
        recorded before (routed already) or belong to an erased concern (never recorded again)."""

    async def windows(self, subject_keys: list[str], since: datetime) -> dict[str, list[datetime]]:
        """Each subject's concern times from 90 days before `since` on, oldest first."""

    async def forget(self, concern_id: str) -> str | None:
        """Erasure: the concern no longer counts towards its subject's repeats; returns its subject key."""


DueClock = Literal["reminder", "escalation", "receipt"]
"""A referral's clocks: the reminder at the acknowledgement's due time, the escalation at twice it, and an
underretning's unconfirmed receipt."""
DUE = {"reminder": ("breached_at", "ack_due_at"), "escalation": ("escalated_at", "escalate_at"),
       "receipt": ("receipt_breached_at", "receipt_due_at")}  # fmt: skip
"""Each clock's mark (when it fired) and due time, as Referral names them."""
SHIFTED = ("created_at", "ack_due_at", "escalate_at", "breached_at", "escalated_at", "receipt_due_at",
           "receipt_breached_at")  # fmt: skip
"""The stored times of a referral the demo clock moves back."""


class Clocks(Protocol):
    """The referrals' clocks: what fell due, claimed in the unit, and the demo clock's shifts."""

    async def claim_due(self, clock: DueClock, now: datetime, limit: int) -> list[Referral]:
        """Up to `limit` waiting (requested) referrals whose `clock` fell due by `now` and has not fired, earliest
        due first, marked as fired at `now`; one another unit holds is skipped (two workers never both send it)."""

    async def set_escalation_contact(self, referral_id: str, contact: str) -> None:
        """Who an escalated referral went to."""

    async def open_by_age(
        self, now: datetime, statuses: list[str], buckets: tuple[tuple[str, str], ...]
    ) -> dict[tuple[str, str], int]:
        """(target, age bucket) -> how many referrals in these states; a bucket is (name, its upper bound, as
        "3 days"), the first that holds names the age, `gte_30d` when none does."""

    async def overdue(self, now: datetime) -> dict[tuple[str, str], int]:
        """(target, severity) -> how many waiting referrals are past their acknowledgement's due time."""

    async def lock_open(self, statuses: list[str]) -> list[tuple[str, timedelta]]:
        """Every referral in these states with how far earlier demo advances moved it, locked, by id."""

    async def shift(self, moves: list[tuple[str, timedelta]]) -> list[dict[str, Any]]:
        """Move these referrals' stored times (and their moves' times) back by each span, recording the span;
        each moved referral's status, due times, marks and underretning fields afterwards."""


class Outbox(Protocol):
    """Events to publish on the referral topic, committed with the change that made them."""

    async def add(self, events: list[Envelope[Any]]) -> None:
        """Queue the events, in order."""


class UnitOfWork(Unit, Protocol):
    """One transaction (`Unit`) over these repositories."""

    referrals: ReferralRepository
    suggestions: SuggestionRepository
    subjects: Subjects
    clocks: Clocks
    outbox: Outbox

    async def rules(self, version: int | None = None) -> tuple[int, RulesDocument]:
        """The rules version in force and its document (with the reference directory's recipients); `version`:
        the version in force when the unit read it already (`first_deliveries`)."""

    async def first_deliveries(self, event_ids: list[str]) -> tuple[set[str], int]:
        """Record the events as applied by this service (the inbox): the ids not applied before, and the rules
        version in force (read in the same round trip; 0 when nothing is new)."""


@dataclass
class _Tables:
    referrals: dict[str, Referral] = field(default_factory=dict)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)
    outbox: list[Envelope[Any]] = field(default_factory=list)
    demo_shifts: dict[str, timedelta] = field(default_factory=dict)
    subjects: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """(subject_key, concern_id) -> reported_at"""
    processed: set[str] = field(default_factory=set)


class InMemoryReferrals:
    """The in-memory fake of ReferralRepository (no locks are needed: one unit at a time)."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def lock_concern_of(self, referral_id: str) -> list[Referral]:
        found = self._t.referrals.get(referral_id)
        return await self.lock_concern(found.concern_id) if found else []

    async def lock_concern(self, concern_id: str) -> list[Referral]:
        return sorted((r for r in self._t.referrals.values() if r.concern_id == concern_id), key=_referral_id)

    async def add(self, referrals: list[Referral]) -> None:
        for referral in referrals:
            self._t.referrals.setdefault(referral.referral_id, referral)

    async def add_created(self, referrals: list[Referral], records: list[OutboxRecord]) -> None:
        await self.add(referrals)
        self._t.outbox.extend(decode(record.payload) for record in records)

    async def mark_concern_erased(self, concern_id: str, at: datetime) -> int:
        marked = [r for r in self._t.referrals.values() if r.concern_id == concern_id and r.concern_erased_at is None]
        self._t.referrals.update({r.referral_id: replace(r, concern_erased_at=at) for r in marked})
        return len(marked)

    async def save_move(self, referral: Referral) -> None:
        stored = self._t.referrals[referral.referral_id]
        self._t.referrals[referral.referral_id] = replace(
            stored,
            status=referral.status,
            transitions=referral.transitions,
            outcome=referral.outcome,
            reject_reason=referral.reject_reason,
        )

    async def save_merge(self, referral: Referral) -> None:
        stored = self._t.referrals[referral.referral_id]
        self._t.referrals[referral.referral_id] = replace(
            stored,
            task=referral.task,
            urgent=referral.urgent,
            ack_due_at=referral.ack_due_at,
            escalate_at=referral.escalate_at,
        )

    async def record_transition(self, referral: Referral, before: ReferralStatus, **move: Any) -> None:
        self._t.transitions.append(
            {"referral_id": referral.referral_id, "seq": referral.transitions, "from_status": before,
             "to_status": referral.status, "outcome": referral.outcome, **move}
        )  # fmt: skip


def _referral_id(referral: Referral) -> str:
    return referral.referral_id


class InMemorySuggestions:
    """The in-memory fake of SuggestionRepository; `store` puts a suggestion in (as a concern's hints would)."""

    def __init__(self, tables: _Tables):
        self._t = tables

    def store(self, suggestion: Suggestion) -> None:
        self._t.suggestions[suggestion.suggestion_id] = suggestion

    async def get(self, suggestion_id: str, *, for_update: bool = False) -> Suggestion | None:
        return self._t.suggestions.get(suggestion_id)

    async def save_decision(self, suggestion: Suggestion) -> None:
        stored = self._t.suggestions.get(suggestion.suggestion_id)
        if stored is not None and stored.status.value == "open":
            self._t.suggestions[suggestion.suggestion_id] = suggestion

    async def add_many(self, suggestions: list[Suggestion]) -> None:
        for suggestion in suggestions:
            self._t.suggestions.setdefault(suggestion.suggestion_id, suggestion)


class InMemorySubjects:
    """The in-memory fake of Subjects, with the same rules as the SQL."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def record_and_read(
        self, concerns: list[tuple[str, str, datetime]], subject_keys: list[str], after: datetime
    ) -> tuple[dict[str, dict[str, datetime]], set[str]]:
        keys = set(subject_keys)
        found: dict[str, dict[str, datetime]] = {}
        for (key, concern_id), at in self._t.subjects.items():  # as before the statement
            if key in keys and at > after:
                found.setdefault(key, {})[concern_id] = at
        erased = {r.concern_id for r in self._t.referrals.values() if r.concern_erased_at is not None}
        fresh = set()
        for key, concern_id, at in concerns:
            if concern_id not in erased and (key, concern_id) not in self._t.subjects:
                self._t.subjects[(key, concern_id)] = at
                fresh.add(concern_id)
        return found, {concern_id for _, concern_id, _ in concerns} - fresh

    async def windows(self, subject_keys: list[str], since: datetime) -> dict[str, list[datetime]]:
        found: dict[str, list[datetime]] = {}
        for (key, _), at in sorted(self._t.subjects.items(), key=lambda item: item[1]):
            if key in subject_keys and at > since - REPEAT_WINDOW:
                found.setdefault(key, []).append(at)
        return found

    async def forget(self, concern_id: str) -> str | None:
        for key, stored_id in list(self._t.subjects):
            if stored_id == concern_id:
                del self._t.subjects[(key, stored_id)]
                return key
        return None


def _span(span: str) -> timedelta:
    """An interval as PostgreSQL reads "1 hour" or "3 days" (as elapsed time: the fake knows no time zone)."""
    n, unit = span.split()
    return timedelta(**{unit if unit.endswith("s") else unit + "s": int(n)})


class InMemoryClocks:
    """The in-memory fake of Clocks, with the same rules as the SQL (no locks are needed: one unit at a time)."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def claim_due(self, clock: DueClock, now: datetime, limit: int) -> list[Referral]:
        mark, due = DUE[clock]
        waiting = [
            r for r in self._t.referrals.values()
            if r.status is ReferralStatus.REQUESTED and getattr(r, mark) is None
            and getattr(r, due) is not None and getattr(r, due) <= now and (clock != "receipt" or r.underretning)
        ]  # fmt: skip
        claimed = [replace(r, **{mark: now}) for r in sorted(waiting, key=lambda r: getattr(r, due))[:limit]]
        self._t.referrals.update({r.referral_id: r for r in claimed})
        return claimed

    async def set_escalation_contact(self, referral_id: str, contact: str) -> None:
        self._t.referrals[referral_id] = replace(self._t.referrals[referral_id], escalation_contact_id=contact)

    async def open_by_age(
        self, now: datetime, statuses: list[str], buckets: tuple[tuple[str, str], ...]
    ) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for r in self._t.referrals.values():
            if r.status.value in statuses:
                age = next((name for name, span in buckets if r.created_at > now - _span(span)), "gte_30d")
                counts[(r.target.value, age)] = counts.get((r.target.value, age), 0) + 1
        return counts

    async def overdue(self, now: datetime) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for r in self._t.referrals.values():
            if r.status is ReferralStatus.REQUESTED and r.ack_due_at <= now:
                counts[(r.target.value, r.severity.value)] = counts.get((r.target.value, r.severity.value), 0) + 1
        return counts

    async def lock_open(self, statuses: list[str]) -> list[tuple[str, timedelta]]:
        found = sorted(r.referral_id for r in self._t.referrals.values() if r.status.value in statuses)
        return [(referral_id, self._t.demo_shifts.get(referral_id, timedelta(0))) for referral_id in found]

    async def shift(self, moves: list[tuple[str, timedelta]]) -> list[dict[str, Any]]:
        moved = []
        for referral_id, span in moves:
            self._t.demo_shifts[referral_id] = self._t.demo_shifts.get(referral_id, timedelta(0)) + span
            r = self._t.referrals[referral_id]
            r = replace(r, **{name: getattr(r, name) - span for name in SHIFTED if getattr(r, name) is not None})
            self._t.referrals[referral_id] = r
            for t in self._t.transitions:
                if t["referral_id"] == referral_id and t.get("changed_at") is not None:
                    t["changed_at"] -= span
            moved.append({"status": r.status.value, "underretning": r.underretning,
                          **{name: getattr(r, name) for name in SHIFTED if name != "created_at"}})  # fmt: skip
        return moved


class InMemoryOutbox:
    """The in-memory fake of Outbox: the events in the order they were queued."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def add(self, events: list[Envelope[Any]]) -> None:
        self._t.outbox.extend(events)


class InMemoryUnitOfWork(InMemoryUnit):
    """The in-memory fake of UnitOfWork: call it for a unit (as `Deps.uow`); an error inside rolls back."""

    def __init__(self, rules: tuple[int, RulesDocument]):
        super().__init__(_Tables())
        self._rules = rules
        self.referrals = InMemoryReferrals(self.tables)
        self.suggestions = InMemorySuggestions(self.tables)
        self.subjects = InMemorySubjects(self.tables)
        self.clocks = InMemoryClocks(self.tables)
        self.outbox = InMemoryOutbox(self.tables)

    async def rules(self, version: int | None = None) -> tuple[int, RulesDocument]:
        return self._rules

    async def first_deliveries(self, event_ids: list[str]) -> tuple[set[str], int]:
        fresh = set(event_ids) - self.tables.processed
        self.tables.processed |= fresh
        return fresh, (self._rules[0] if fresh else 0)


def moves_of(uow: InMemoryUnitOfWork, referral_id: str) -> list[tuple[ReferralStatus, ReferralStatus, datetime]]:
    """A referral's recorded moves (from, to, when), oldest first: what its history shows."""
    rows = [t for t in uow.tables.transitions if t["referral_id"] == referral_id]
    return [(t["from_status"], t["to_status"], t["changed_at"]) for t in sorted(rows, key=lambda t: t["seq"])]
