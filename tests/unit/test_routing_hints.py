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
