"""The referral lifecycle of DESIGN.md (HL7 FHIR Task): which moves are legal, and why not."""

from shared.contracts.vocabulary import Outcome, ReferralStatus, RejectReason

S = ReferralStatus
OPEN = frozenset({S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD})
TERMINAL = frozenset(set(S) - OPEN)
UNACKNOWLEDGED = frozenset({S.REQUESTED})
"""States in which the acknowledgement clock runs (received, accepted or rejected acknowledge it)."""

NEXT: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.REQUESTED: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.COMPLETED}),
}


class IllegalTransition(Exception):
    """The move is not allowed from the referral's current state (HTTP 409)."""


class InvalidMove(IllegalTransition):
    """The move is legal from the current state, but the request lacks what it needs or names a bad value (HTTP 422).

    `field` names the request's field (`reason`, `outcome`) for the caller to fix.
    """

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


def check_transition(
    current: ReferralStatus, to: ReferralStatus, *, reason: str | None, outcome: Outcome | None
) -> None:
    """Raise IllegalTransition (InvalidMove naming the field) with a reason a person can act on; return when legal."""
    if current in TERMINAL:
        raise IllegalTransition(f"the referral is {current.value}; a closed referral cannot move")
    allowed = NEXT[current] | {S.CANCELLED, S.FAILED}
    if to not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(f"cannot move from {current.value} to {to.value}; allowed: {names}")
    if to is S.REJECTED and reason not in set(RejectReason):
        raise InvalidMove("reason", "a rejection needs a reason: one of " + ", ".join(r.value for r in RejectReason))
    if to is not S.REJECTED and reason is not None:
        raise InvalidMove("reason", "a reason is given with a rejection, and only then")
    if (to is S.COMPLETED) != (outcome is not None):
        raise InvalidMove("outcome", "an outcome is required to complete a referral, and only then")
