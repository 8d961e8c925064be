"""Issue 15, point 3 on the pure domain: re-routing never duplicates and never drops a task.

A concern routed by the default rules, then random moves, rejections and clocks decided by `decide_move` against an
in-memory concern (what the handler stores, without PostgreSQL); the invariants of tests/support/routing_invariants.py
hold after every step. The examples below pin the two defects the issue names.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings

from services.routing.domain.facts import ConcernFacts
from services.routing.domain.lifecycle import IllegalTransition
from services.routing.domain.moves import Decision, decide_move
from services.routing.domain.referral import Referral, from_plan
from services.routing.domain.routing import decide
from shared.contracts.vocabulary import Category, Consent, LegalBasis, Outcome, ReferralStatus, Severity, Task
from tests.support.reference import default_rules
from tests.support.routing_invariants import Reroute, concerns, moves_of, pick, steps, violations

pytestmark = pytest.mark.unit
S = ReferralStatus
RULES = default_rules()
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


class Concern:
    """One concern's referrals in memory: the fake of the referrals table that move_referral writes."""

    def __init__(self, concern: dict) -> None:
        basis = concern["legal_basis"]
        facts = ConcernFacts(
            concern_id="c-1",
            organisation_id="org-demo",
            department_id=concern["place"]["department_id"],
            municipality_code=concern["place"]["municipality_code"],
            subject_key="sk-1",
            categories=frozenset(Category(c) for c in concern["categories"]),
            severity=Severity(concern["severity"]),
            consent=Consent(concern["consent"]),
            legal_basis=LegalBasis(basis) if basis else None,
            reported_at=T0,
        )
        self.now = T0
        self.referrals = {
            r.referral_id: r for r in (from_plan(p, facts, rules_version=1, now=T0) for p in decide(facts, RULES))
        }
        self.reroutes: list[Reroute] = []

    def move(self, referral: Referral, to: S, reason: str | None = None, outcome: Outcome | None = None) -> Decision:
        """Decide and apply a move as the handler does (raises IllegalTransition and then changes nothing)."""
        others = [r for r in self.referrals.values() if r.referral_id != referral.referral_id]
        decision = decide_move(
            referral, to, reason=reason, outcome=outcome, others=others, document=RULES, rules_version=1, now=self.now
        )
        carried = decision.rerouted_to
        if carried:
            before = self.referrals.get(carried.referral_id)
            self.reroutes.append(Reroute(referral, carried, before))
            self.referrals[carried.referral_id] = carried
        self.referrals[referral.referral_id] = decision.referral
        return decision

    def erase(self) -> None:
        """concern.erased.v1 as the handler applies it: every referral of the concern marked, once."""
        self.referrals = {
            k: r if r.concern_erased_at else replace(r, concern_erased_at=self.now) for k, r in self.referrals.items()
        }

    def to(self, recipient: str) -> Referral:
        """The concern's open referral to `recipient` (the only one, when the invariants hold)."""
        (found,) = [r for r in self.referrals.values() if r.recipient_id == recipient and r.status not in _CLOSED]
        return found

    def violations(self) -> list[str]:
        return violations(list(self.referrals.values()), self.reroutes)


_CLOSED = {S.REJECTED, S.CANCELLED, S.FAILED, S.COMPLETED}


@settings(max_examples=400, deadline=None)
@given(concern=concerns(), script=steps)
def test_random_moves_keep_the_reroute_invariants(concern: dict, script: list) -> None:
    state = Concern(concern)
    assert not state.violations()
    for intent, index, reason, outcome in script:
        if intent == "clock":
            state.now += timedelta(days=4)
            continue
        if intent == "erase":
            state.erase()
            assert not state.violations()
            continue
        target = pick(list(state.referrals.values()), index)
        for to, why, how in moves_of(intent, target, reason, outcome):
            try:
                decision = state.move(state.referrals[target.referral_id], to, why, how)
            except IllegalTransition:
                break
            if decision.rerouted_to:
                event("re-route merged" if decision.merged else "re-route created")
                if target.concern_erased_at:
                    event("re-route after the erasure")
            wrong = state.violations()
            assert not wrong, f"{wrong}; concern {concern}; steps {[(i, n, str(r), str(o)) for i, n, r, o in script]}"


def _mental_health_without_consent() -> Concern:
    concern = Concern(
        {
            "categories": ("mental_health",),
            "severity": "high",
            "consent": "not_asked",
            "legal_basis": None,
            "place": {"department_id": "holbaek-2", "municipality_code": "0316"},
        }
    )
    assert {(r.recipient_id, r.task, r.disclosure) for r in concern.referrals.values()} == {
        ("municipality-0316", "act", "anonymous"),
        ("consultant-holbaek", "obtain_consent", "no_personal_details"),
    }
    return concern


def _reject(concern: Concern, recipient: str, reason: str = "capacity") -> Decision:
    referral = concern.to(recipient)
    concern.move(referral, S.RECEIVED)
    return concern.move(concern.to(recipient), S.REJECTED, reason)


def test_an_obtain_consent_referral_rerouted_stays_obtain_consent_without_details() -> None:
    concern = _mental_health_without_consent()
    decision = _reject(concern, "consultant-holbaek")
    new = decision.created
    assert (new.recipient_id, new.task, new.legal_basis, new.disclosure) == (
        "escalation-consultant-holbaek",
        Task.OBTAIN_CONSENT,
        LegalBasis.NONE,
        "no_personal_details",
    )
    assert not concern.violations()


def test_rejecting_the_municipality_while_the_escalation_contact_has_the_concern_open_merges_into_it() -> None:
    concern = _mental_health_without_consent()
    escalation = _reject(concern, "consultant-holbaek").created
    decision = _reject(concern, "municipality-0316", "not_our_responsibility")
    assert decision.created is None and decision.merged.referral_id == escalation.referral_id
    assert decision.merged.task is Task.OBTAIN_CONSENT and decision.merged.disclosure == "no_personal_details"
    open_ = [r.recipient_id for r in concern.referrals.values() if r.status not in _CLOSED]
    assert open_ == ["escalation-consultant-holbaek"]
    assert not concern.violations()


def test_rejecting_the_municipality_first_merges_into_the_consultants_open_referral() -> None:
    concern = _mental_health_without_consent()
    consultant = concern.to("consultant-holbaek")
    decision = _reject(concern, "municipality-0316", "not_our_responsibility")
    assert decision.merged.referral_id == consultant.referral_id and decision.merged.task is Task.OBTAIN_CONSENT
    then = _reject(concern, "consultant-holbaek").created
    assert (then.recipient_id, then.task) == ("escalation-consultant-holbaek", Task.OBTAIN_CONSENT)
    assert not concern.violations()


def test_an_anonymous_consultation_rejected_goes_to_the_consultant_as_obtaining_consent() -> None:
    concern = _mental_health_without_consent()
    consultant = concern.to("consultant-holbaek")
    for step in (S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS):
        concern.move(concern.to("consultant-holbaek"), step)
    concern.move(concern.to("consultant-holbaek"), S.COMPLETED, outcome=Outcome.RESIDENT_DECLINED_HELP)
    new = _reject(concern, "municipality-0316", "not_our_responsibility").created
    assert new.referral_id != consultant.referral_id
    assert (new.recipient_id, new.task, new.legal_basis) == ("consultant-holbaek", Task.OBTAIN_CONSENT, "none")


def test_a_municipal_statutory_duty_is_not_handed_on() -> None:
    concern = Concern(
        {
            "categories": ("eviction_risk",),
            "severity": "medium",
            "consent": "not_asked",
            "legal_basis": None,
            "place": {"department_id": "hoeng-1", "municipality_code": "0326"},
        }
    )
    decision = _reject(concern, "municipality-0326", "not_our_responsibility")
    merged = decision.merged
    assert (merged.recipient_id, merged.legal_basis, merged.disclosure) == (
        "consultant-holbaek",
        "none",
        "no_personal_details",
    )
    assert merged.task is Task.OBTAIN_CONSENT  # the details went with the municipality's duty; consent brings them


def test_the_last_open_referral_cannot_be_cancelled_or_failed_until_one_is_completed() -> None:
    concern = Concern(
        {
            "categories": ("noise",),
            "severity": "low",
            "consent": "given",
            "legal_basis": None,
            "place": {"department_id": "holbaek-1", "municipality_code": "0316"},
        }
    )
    only = concern.to("consultant-holbaek")
    for to in (S.CANCELLED, S.FAILED):
        with pytest.raises(IllegalTransition, match="last open referral"):
            concern.move(only, to)
    assert concern.referrals[only.referral_id] == only
