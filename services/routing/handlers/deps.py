"""What the handlers need, wired by bootstrap: the pool, the clock, the rules in force, topic names."""

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.routing.adapters import rules_store
from services.routing.adapters.directory import with_directory
from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.adapters.unit_of_work import PostgresUnitOfWork
from services.routing.domain.clock import Clock
from services.routing.domain.document import RulesDocument
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.routing import ReferralPlan, Unroutable, decide
from services.routing.handlers.ports import UnitOfWork
from shared.reference.holder import ReferenceHolder

DecisionKey = tuple[object, ...]


class RulesInForce:
    """The current rules version with the reference directory's recipients, re-built only when a newer rules
    version was stored (by any worker) or a newer directory arrived on the reference-data topic."""

    def __init__(
        self, reference: ReferenceHolder, max_decisions: int = 20_000, reference_timeout_s: float = 60.0
    ) -> None:
        self._reference = reference
        self._reference_timeout_s = reference_timeout_s
        self._version = 0
        self._directory_version = ""
        self._document: RulesDocument | None = None
        self._stored: RulesDocument | None = None
        self._decisions: dict[DecisionKey, tuple[ReferralPlan, ...] | str] = {}
        self._decisions_document: RulesDocument | None = None
        self._max_decisions = max_decisions

    def decide(self, version: int, document: RulesDocument, facts: ConcernFacts) -> tuple[ReferralPlan, ...]:
        """`routing.decide` remembered per rules version; raises Unroutable as it does.

        The plans depend only on the document and on the facts the rules read (place, categories, severity,
        consent, legal basis, repeat, hints, children in the household, confirmed danger), not on the concern's
        id, tenancy or time; a flood of concerns holds a few hundred such combinations. A version is never changed
        once stored, and a new directory makes a new document, so nothing goes stale.
        """
        if document is not self._decisions_document or len(self._decisions) >= self._max_decisions:
            self._decisions.clear()
            self._decisions_document = document
        key = (
            facts.department_id,
            facts.municipality_code,
            facts.categories,
            facts.severity,
            facts.consent,
            facts.legal_basis,
            facts.repeated,
            facts.hints,
            facts.children_in_household,
            facts.danger_confirmed,
        )
        found = self._decisions.get(key)
        if found is None:
            try:
                found = tuple(decide(facts, document))
            except Unroutable as error:
                found = error.reason
            self._decisions[key] = found
        if isinstance(found, str):
            raise Unroutable(found)
        return found

    async def get(self, conn: asyncpg.Connection, version: int | None = None) -> tuple[int, RulesDocument]:
        """The version in force and its document; raises LookupError when none is stored.

        `version`: the current version when the caller read it already in this transaction (one round trip less).
        """
        if version is None:
            version = await rules_store.current_version(conn)
        if version != self._version or self._stored is None:
            found = await rules_store.current(conn)
            if found is None:
                raise LookupError("no rules version stored")
            self._version, self._stored = found
            self._document = None
        directory = self._reference.directory or await self._reference.wait(self._reference_timeout_s)
        if self._document is None or directory.version != self._directory_version:
            self._document = with_directory(self._stored, directory)
            self._directory_version = directory.version
        return self._version, self._document


@dataclass
class Deps:
    """The handlers' adapters (real in the service, fakes or a test database in tests)."""

    pool: asyncpg.Pool
    clock: Clock
    rules: RulesInForce
    consumer: str
    referral_topic: str
    source: str
    windows: RepeatWindows | None = None
    """The repeat-windows table (the agent's fast path); None: every window is read from PostgreSQL."""
    uow: Callable[[], UnitOfWork] | None = None
    """Makes the units of work in unit tests (a fake); None: PostgreSQL on `pool`."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work: one transaction, used once with `async with`."""
        return self.uow() if self.uow else PostgresUnitOfWork(self.pool, self.rules, self.referral_topic, self.consumer)
