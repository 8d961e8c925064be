"""The port stats' handlers write through: a small Protocol, with its in-memory fake beside it.

PostgreSQL implements it in `adapters/projections.py` (`PostgresProjectionWriter`, inside the applier's
transaction); the rebuild folds the same calls in memory (`adapters/folding.py`).
"""

from typing import Any, Protocol

from services.stats.domain.facts import ConcernFact, StatusChange
from shared.contracts.referrals import ReferralCreated, ReferralSuggested, ReferralSuggestionDecided


class ProjectionWriter(Protocol):
    """The port the handlers write through (PostgreSQL in production, a list of calls in unit tests)."""

    async def record_concern(self, fact: ConcernFact) -> None: ...
    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: Any) -> None: ...
    async def record_referral(self, data: ReferralCreated) -> None: ...
    async def record_status_change(self, change: StatusChange) -> None: ...
    async def count_clock_event(self, data: Any, column: str) -> None: ...
    async def record_delivery(self, data: Any, *, delivered: bool) -> None: ...
    async def record_suggestion(self, data: ReferralSuggested) -> None: ...
    async def record_suggestion_decision(self, data: ReferralSuggestionDecided) -> None: ...


class RecordingWriter:
    """The in-memory fake: records every call as (method, args, kwargs), in order, for unit tests."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str):  # noqa: ANN204 - any of ProjectionWriter's methods
        if name.startswith("_"):
            raise AttributeError(name)

        async def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record
