"""What the handlers need, wired by bootstrap: the pool, the clock, the rules in force, topic names."""

from dataclasses import dataclass

import asyncpg

from services.routing.adapters import rules_store
from services.routing.adapters.repeat_windows import RepeatWindows
from services.routing.domain.clock import Clock
from services.routing.domain.document import RulesDocument


class RulesInForce:
    """The current rules version, re-read only when a newer version was stored (by any worker)."""

    def __init__(self) -> None:
        self._version = 0
        self._document: RulesDocument | None = None

    async def get(self, conn: asyncpg.Connection, version: int | None = None) -> tuple[int, RulesDocument]:
        """The version in force and its document; raises LookupError when none is stored.

        `version`: the current version when the caller read it already in this transaction (one round trip less).
        """
        if version is None:
            version = await rules_store.current_version(conn)
        if version != self._version or self._document is None:
            found = await rules_store.current(conn)
            if found is None:
                raise LookupError("no rules version stored")
            self._version, self._document = found
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
