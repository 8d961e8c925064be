"""What the stats projections record of each event: pure derivations, shared by live updates and rebuilds."""

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


def is_repeat(reported_at: datetime, same_tenancy: list[datetime]) -> bool:
    """Whether a concern is a repeat: with it, REPEAT_THRESHOLD or more of the tenancy's concerns in the window."""
    within = [t for t in same_tenancy if reported_at - REPEAT_WINDOW <= t <= reported_at]
    return len(within) >= REPEAT_THRESHOLD
