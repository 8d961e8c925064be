"""What the stats projections record of each event: pure derivations, shared by live updates and rebuilds."""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Container, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

from services.stats.domain.calendar import local_day
from shared.contracts.vocabulary import ActorRole, ReferralStatus

REPEAT_WINDOW = timedelta(days=90)
REPEAT_THRESHOLD = 3
"""DESIGN.md: three or more concerns about one tenancy within 90 days are a repeat."""

ACKNOWLEDGING_STATES = frozenset(
    {
        ReferralStatus.RECEIVED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.REJECTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.ON_HOLD,
        ReferralStatus.COMPLETED,
    }
)
"""Moving a referral into one of these states answers it; cancelled and failed do not."""


class ConcernFact(NamedTuple):
    """A reported concern as stats keeps it: no personal data, only the tenancy pseudonym.

    A NamedTuple, not a frozen dataclass (as `StatusChange`): a rebuild makes one per event, and a frozen
    dataclass's `__init__` sets each field through `object.__setattr__`, at more than twice the cost."""

    concern_id: str
    organisation_id: str
    department_id: str
    municipality_code: str
    subject_key: str | None
    """The tenancy's pseudonym; None when the report named no tenancy (such concerns are never repeats)."""
    severity: str
    categories: tuple[str, ...]
    reported_at: datetime

    @property
    def day(self) -> date:
        """The Danish calendar day it was reported on."""
        return local_day(self.reported_at)


class StatusChange(NamedTuple):
    """A referral's move along its lifecycle, with what it means for the clocks."""

    referral_id: str
    concern_id: str
    target: str
    department_id: str
    municipality_code: str
    to_status: str
    changed_at: datetime
    acknowledges: bool
    completes: bool
    outcome: str | None


def acknowledges(to_status: str, changed_by_role: str) -> bool:
    """Whether a change answers the referral: a recipient's move to an answering state (the system's never)."""
    return to_status in ACKNOWLEDGING_STATES and changed_by_role != ActorRole.SYSTEM


Stored = tuple[str, str | None, datetime]
"""A stored concern fact as the erasure and repeat rules see it: (concern_id, subject_key, reported_at)."""
Settled = tuple[str | None, bool, bool]
"""What the rules make of a fact's columns: (subject_key, erased, repeated)."""
ERASED: Settled = (None, True, False)
"""An erased concern keeps no tenancy pseudonym and is never a repeat (its anonymous counts stay)."""


def settle(facts: Sequence[Stored], erased: Container[str]) -> list[Settled]:
    """The erasure and repeat rules, the one source of both projection paths (live in `adapters/projections.py`
    over a tenancy's stored facts, the rebuild's fold in `adapters/folding.py` over all of them): for each fact,
    in order, its (subject_key, erased, repeated).

    A concern is a repeat when REPEAT_THRESHOLD or more of its tenancy's concerns, itself included, were reported
    in the REPEAT_WINDOW up to it (both ends inclusive; 90 x 24 hours, not calendar days). An erased concern
    (its id in `erased`) is no repeat and counts towards none; a fact without a tenancy is never a repeat.
    The facts must include all of each named tenancy's concerns (the flags of a tenancy depend on all of them).
    """
    by_tenancy: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for concern_id, key, at in facts:
        if key is not None and concern_id not in erased:
            by_tenancy[key].append((at, concern_id))
    repeated = set()
    for concerns in by_tenancy.values():
        if len(concerns) < REPEAT_THRESHOLD:
            continue
        times = sorted(at for at, _ in concerns)
        for at, concern_id in concerns:
            if bisect_right(times, at) - bisect_left(times, at - REPEAT_WINDOW) >= REPEAT_THRESHOLD:
                repeated.add(concern_id)
    return [ERASED if concern_id in erased else (key, False, concern_id in repeated) for concern_id, key, _ in facts]
