"""Issue 15, point 3: what must hold of one concern's referrals after any sequence of moves, re-routes and clocks.

Shared by the property tests of the pure domain (tests/unit/test_routing_reroutes.py) and of the handlers on
PostgreSQL (tests/integration/test_routing_reroutes.py); both feed it a concern's referrals and its re-routes.
"""

from collections import Counter
from dataclasses import dataclass

from hypothesis import strategies as st

from services.routing.domain.lifecycle import OPEN
from services.routing.domain.referral import Referral
from services.routing.domain.routing import BASIS_RANK, TASK_RANK
from shared.contracts.vocabulary import (
    Category,
    Consent,
    Disclosure,
    LegalBasis,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    RejectReason,
    Task,
)

S = ReferralStatus
PLACES = (("holbaek-1", "0316"), ("holbaek-2", "0316"), ("hoeng-1", "0326"), ("odense-1", "0461"))
"""Departments with and without an association, in their municipalities (the default rules)."""


@dataclass(frozen=True)
class Reroute:
    """A rejection and the referral that carried the concern on (new, or an open one it was merged into)."""

    rejected: Referral
    """The referral as it was when rejected."""
    carried_by: Referral
    """The referral it went to, as it was right after the re-route."""
    open_before: Referral | None
    """When merged: the open referral as it was just before."""


def violations(referrals: list[Referral], reroutes: list[Reroute]) -> list[str]:
    """What is wrong with a concern's referrals and re-routes (empty when the invariants hold)."""
    wrong = []
    open_to = Counter(r.recipient_id for r in referrals if r.status in OPEN)
    wrong += [f"{n} open referrals to {who}" for who, n in open_to.items() if n > 1]
    if not any(r.status in OPEN or r.status is S.COMPLETED for r in referrals):
        wrong.append(
            "nothing open and nothing completed: " + ", ".join(f"{r.recipient_id}={r.status}" for r in referrals)
        )
    for r in referrals:
        allowed = {LegalBasis.NONE, r.concern_basis}
        if r.replaces_referral_id is None and r.target is ReferralTarget.MUNICIPALITY:
            allowed.add(LegalBasis.STATUTORY_DUTY)  # the municipality's own duty (eviction prevention), by a rule
        if r.legal_basis not in allowed:
            wrong.append(f"{r.recipient_id} has basis {r.legal_basis}, the concern only {r.concern_basis}")
        full = r.disclosure is Disclosure.FULL
        if r.concern_erased_at is None and full != (r.legal_basis is not LegalBasis.NONE):  # erased: nothing to show
            wrong.append(f"{r.recipient_id} sees {r.disclosure} on basis {r.legal_basis}")
    erased = {r.concern_erased_at is not None for r in referrals}
    if len(erased) > 1:  # a re-route after the erasure hands the mark on; the erasure reaches every referral
        wrong.append("the erasure marks some of the concern's referrals and not others")
    for step in reroutes:
        wrong += _reroute_violations(step)
    return wrong


def _reroute_violations(step: Reroute) -> list[str]:
    rejected, new, before = step.rejected, step.carried_by, step.open_before
    name = f"{rejected.recipient_id}({rejected.task}, {rejected.legal_basis}) -> {new.recipient_id}"
    wrong = []
    if TASK_RANK[new.task] < TASK_RANK[rejected.task]:
        wrong.append(f"{name}: task {rejected.task} became {new.task}")
    anonymous = rejected.disclosure is Disclosure.ANONYMOUS and new.legal_basis is LegalBasis.NONE
    if anonymous and new.task is not Task.OBTAIN_CONSENT:
        wrong.append(f"{name}: an anonymous consultation went on as {new.task}, not obtain_consent")
    if before is None and rejected.concern_erased_at is not None and new.disclosure is Disclosure.FULL:
        wrong.append(f"{name}: full disclosure handed on after the concern was erased")
    if before is None:
        # An association never gets details, whatever the concern's basis: the consultant after it may.
        ceiling = rejected.concern_basis if rejected.target is ReferralTarget.ASSOCIATION else rejected.legal_basis
        if BASIS_RANK[new.legal_basis] > BASIS_RANK[ceiling]:
            wrong.append(f"{name}: basis {rejected.legal_basis} became {new.legal_basis}")
        if new.replaces_referral_id != rejected.referral_id or new.status is not S.REQUESTED:
            wrong.append(f"{name}: a new referral that does not name the one it replaces, or not requested")
    else:
        if (new.legal_basis, new.disclosure) != (before.legal_basis, before.disclosure):
            wrong.append(f"{name}: merging changed the open referral's basis or disclosure")
        if TASK_RANK[new.task] < TASK_RANK[before.task] or (before.urgent and not new.urgent):
            wrong.append(f"{name}: merging weakened the open referral's task or urgency")
        if new.ack_due_at > before.ack_due_at or new.status is not before.status:
            wrong.append(f"{name}: merging moved the open referral's due time later, or its status")
    return wrong


# ---- the strategies ----------------------------------------------------------------------------------------------

INTENTS = ("receive", "reject", "reject", "accept", "start", "hold", "complete", "cancel", "fail", "clock", "erase")
"""What a step tries (rejections twice as often: they are the point); an illegal move is refused and changes nothing.
`clock` lets four days pass (and runs the clocks); `erase` erases the concern (concern.erased.v1, once or again)."""


@st.composite
def concerns(draw: st.DrawFn) -> dict:
    """The facts of a concern.reported.v1 routed by the default rules."""
    department, municipality = draw(st.sampled_from(PLACES))
    return {
        "categories": tuple(sorted(draw(st.sets(st.sampled_from(sorted(Category)), min_size=1, max_size=3)))),
        "severity": draw(st.sampled_from(["low", "medium", "high", "acute"])),
        "consent": draw(st.sampled_from(sorted(Consent))),
        "legal_basis": draw(st.sampled_from([None, "vital_interest", "statutory_duty"])),
        "place": {"department_id": department, "municipality_code": municipality},
    }


steps = st.lists(
    st.tuples(
        st.sampled_from(INTENTS),
        st.integers(0, 7),  # which referral (of the concern's, in a stable order)
        st.sampled_from(sorted(RejectReason)),
        st.sampled_from(sorted(Outcome)),
    ),
    min_size=1,
    max_size=14,
)


def moves_of(intent: str, referral: Referral, reason: RejectReason, outcome: Outcome) -> list[tuple]:
    """The moves (to, reason, outcome) an intent asks of a referral; a rejection receives a requested one first.
    Empty: the clock."""
    if intent == "reject":
        first = [(S.RECEIVED, None, None)] if referral.status is S.REQUESTED else []
        return [*first, (S.REJECTED, reason.value, None)]
    move = {
        "receive": (S.RECEIVED, None, None),
        "accept": (S.ACCEPTED, None, None),
        "start": (S.IN_PROGRESS, None, None),
        "hold": (S.ON_HOLD, None, None),
        "complete": (S.COMPLETED, None, outcome),
        "cancel": (S.CANCELLED, None, None),
        "fail": (S.FAILED, None, None),
    }.get(intent)
    return [move] if move else []


def pick(referrals: list[Referral], index: int) -> Referral:
    """The referral a step acts on: open ones first (moves on closed ones are refused anyway), in a stable order."""
    ordered = sorted(referrals, key=lambda r: (r.status not in OPEN, r.created_at, r.referral_id))
    return ordered[index % len(ordered)]
