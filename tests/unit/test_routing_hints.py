"""Routing on what intake's triage read (hint codes) and on children in the household: the default rules."""

from dataclasses import replace

import pytest
from pydantic import ValidationError

from services.routing.domain.routing import decide, fired_rules
from services.routing.domain.rules import Condition, ReferralSpec
from shared.contracts.vocabulary import DANGER_HINTS, ChildrenInHousehold, Hint
from tests.unit.test_routing_rules import RULES, C, M, facts, summary

pytestmark = pytest.mark.unit


def hinted(categories, *hints, danger_confirmed=False, **kw):  # noqa: ANN001, ANN002, ANN003, ANN201
    return replace(facts(categories, **kw), hints=frozenset(Hint(h) for h in hints), danger_confirmed=danger_confirmed)


@pytest.mark.parametrize("hint", sorted(DANGER_HINTS))
def test_a_danger_hint_makes_a_lonely_residents_concern_urgent_for_the_municipality(hint: Hint) -> None:
    # The caretaker ticked loneliness and wrote of danger: without the hint it went to the association on 6 days.
    assert "association-holbaek-naboskab" in summary(facts(("loneliness",), severity="low"))
    plans = summary(hinted(("loneliness",), hint, severity="low"))
    assert plans[M] == ("act", "none", "anonymous", True)
    assert plans[C] == ("call", "none", "no_personal_details", True)
    assert "danger_hints" in [r.id for r in fired_rules(hinted(("loneliness",), hint), RULES)]


def test_vital_interest_only_when_the_reporter_confirmed_the_danger() -> None:
    plans = summary(hinted(("loneliness",), "possible_suicide_risk", danger_confirmed=True))
    assert plans[M] == ("act", "vital_interest", "full", True)
    assert plans[C] == ("inform", "none", "no_personal_details", True)


def test_consent_is_basis_enough_and_the_consultant_is_informed() -> None:
    plans = summary(hinted(("noise",), "fire_or_gas", consent="given"))
    assert plans[M] == ("act", "consent", "full", True)
    assert plans[C][3] is True and plans[C][1] == "consent"


def test_a_confirmation_without_a_danger_hint_grants_nothing() -> None:
    plans = summary(hinted(("mental_health",), danger_confirmed=True))
    assert plans[M][1] == "none"


@pytest.mark.parametrize("hint", sorted(set(Hint) - DANGER_HINTS - {Hint.CHILD_AT_RISK}))
def test_other_hints_do_not_make_a_concern_urgent(hint: Hint) -> None:
    plans = decide(hinted(("noise",), hint), RULES)
    assert not any(p.urgent for p in plans)


def test_rules_may_match_on_hints_and_on_the_childrens_answer() -> None:
    condition = Condition(hints_any={Hint.POSSIBLE_HOARDING}, children_in_household={ChildrenInHousehold.YES})
    yes = replace(hinted(("noise",), "possible_hoarding"), children_in_household=ChildrenInHousehold.YES)
    assert condition.holds(yes)
    assert not condition.holds(replace(yes, children_in_household=ChildrenInHousehold.NO))
    assert not condition.holds(replace(yes, hints=frozenset()))
    with pytest.raises(ValidationError, match="municipality referrals only"):
        ReferralSpec(target="consultant", vital_interest_when_confirmed=True)
    with pytest.raises(ValidationError):
        Condition(hints_any={"not_a_hint"})


# ---- children in the household: underretninger to the children and youth entry ----------------------------

CHILDREN_ENTRY = "children-0316"


def with_children(categories, answer="yes", *hints, **kw):  # noqa: ANN001, ANN002, ANN003, ANN201
    return replace(hinted(categories, *hints, **kw), children_in_household=ChildrenInHousehold(answer))


@pytest.mark.parametrize(
    "concern",
    [
        with_children(("neglect_of_dwelling",)),
        with_children(("threats_or_violence",)),
        with_children(("substance_abuse",)),
        with_children(("mental_health",)),
        hinted(("noise",), "child_at_risk"),
        facts(("child_welfare",)),
        with_children(("child_welfare",), "no"),
    ],
)
def test_children_at_risk_go_to_the_children_and_youth_entry_as_an_underretning(concern) -> None:  # noqa: ANN001
    plans = {p.recipient_id: p for p in decide(concern, RULES)}
    underretning = plans[CHILDREN_ENTRY]
    assert underretning.underretning and underretning.target.value == "municipality"
    # Statutory duty whatever the parents (or the resident) consented to: the details go with it.
    assert (underretning.legal_basis.value, underretning.disclosure.value) == ("statutory_duty", "full")
    assert C in plans  # the consultant is informed
    assert not any(p.underretning for rid, p in plans.items() if rid != CHILDREN_ENTRY)


@pytest.mark.parametrize("answer", ["no", "unknown"])
def test_no_underretning_without_children_or_a_child_category(answer: str) -> None:
    assert CHILDREN_ENTRY not in summary(with_children(("neglect_of_dwelling",), answer))
    assert CHILDREN_ENTRY not in summary(with_children(("noise", "loneliness")))


def test_the_children_entry_is_a_separate_recipient_from_the_single_entry() -> None:
    plans = summary(with_children(("threats_or_violence",)))
    assert plans[M][0] == "act" and plans[CHILDREN_ENTRY][0] == "act"
    assert RULES.escalation_contact(CHILDREN_ENTRY) == RULES.escalation_contact(M)


def test_an_underretnings_clocks_one_working_day_24_hours_when_acute_and_receipt_in_six() -> None:
    from datetime import UTC, datetime

    from services.routing.domain import clock
    from services.routing.domain.referral import created_event, from_plan, receipt_breached_event
    from services.routing.entrypoints.schemas import ReferralView

    friday = datetime(2025, 3, 7, 9, tzinfo=UTC)
    for severity, due, receipt in [
        ("low", datetime(2025, 3, 10, 9, tzinfo=UTC), datetime(2025, 3, 17, 9, tzinfo=UTC)),
        ("acute", datetime(2025, 3, 8, 9, tzinfo=UTC), datetime(2025, 3, 17, 9, tzinfo=UTC)),
    ]:
        concern = facts(("child_welfare",), severity=severity)
        (plan,) = [p for p in decide(concern, RULES) if p.recipient_id == CHILDREN_ENTRY]
        referral = from_plan(plan, concern, rules_version=1, now=friday)
        assert (referral.ack_due_at, referral.receipt_due_at) == (due, receipt), severity
        assert referral.escalate_at == clock.escalate_at(friday, concern.severity, underretning=True)
        event = created_event(referral)
        assert event.underretning is True and event.receipt_due_at == receipt
        view = ReferralView.of(referral, now=friday, history=[])
        assert (view.underretning, view.receipt_due_at, view.receipt_breached_at) == (True, receipt, None)
        breach = receipt_breached_event(referral, receipt)
        assert (breach.clock, breach.ack_due_at) == ("underretning_receipt", receipt)
    (consultant,) = [p for p in decide(facts(("child_welfare",)), RULES) if p.recipient_id == C]
    plain = from_plan(consultant, facts(("child_welfare",)), rules_version=1, now=friday)
    assert created_event(plain).underretning is None and plain.receipt_due_at is None
