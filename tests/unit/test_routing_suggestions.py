"""Suggestions from hints (issue 16): the recipients a hint's category would add, confirmed or dismissed once."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain.lifecycle import IllegalTransition
from services.routing.domain.referral import from_plan
from services.routing.domain.routing import decide
from services.routing.domain.suggestions import (
    SUGGESTING_HINTS,
    SuggestionStatus,
    Verdict,
    decide_suggestion,
    suggest,
)
from shared.contracts.vocabulary import DANGER_HINTS, Disclosure, Hint, ReferralStatus, ReferralTarget, Task
from tests.unit.test_routing_hints import hinted
from tests.unit.test_routing_rules import RULES, C, M

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 4, 10, tzinfo=UTC)


def _decide(facts):  # noqa: ANN001, ANN202
    return decide(facts, RULES)


def suggested(facts):  # noqa: ANN001, ANN201
    return suggest(facts, decide(facts, RULES), _decide, rules_version=3, now=NOW)


def referrals_of(facts):  # noqa: ANN001, ANN201
    return [from_plan(p, facts, rules_version=3, now=NOW - timedelta(hours=1)) for p in decide(facts, RULES)]


def test_only_the_five_non_danger_non_child_hints_suggest() -> None:
    assert set(SUGGESTING_HINTS) == set(Hint) - DANGER_HINTS - {Hint.CHILD_AT_RISK}
    for hint in DANGER_HINTS | {Hint.CHILD_AT_RISK}:
        assert suggested(hinted(("loneliness",), hint)) == []


def test_a_hoarding_hint_on_a_lonely_residents_concern_suggests_the_consultant() -> None:
    # Loneliness goes to the association; a hoarding hint suggests what ticking hoarding would have added.
    facts = hinted(("loneliness",), "possible_hoarding")
    assert {p.recipient_id for p in decide(facts, RULES)} == {"association-holbaek-naboskab"}
    (only,) = suggested(facts)
    assert (only.hint, only.target, only.recipient_id, only.task) == (
        Hint.POSSIBLE_HOARDING,
        ReferralTarget.CONSULTANT,
        C,
        Task.ACT,
    )
    assert only.rule_id == "ability_to_live" and only.status is SuggestionStatus.OPEN
    assert suggested(facts) == [only]  # deterministic: a redelivery suggests the same id


def test_a_dementia_hint_suggests_the_municipality_anonymously_without_consent() -> None:
    found = {s.recipient_id: s for s in suggested(hinted(("noise",), "possible_dementia"))}
    assert M in found and C not in found  # the consultant has the noise referral already
    assert found[M].suggested_function == "dementia_coordinator"
    assert found[M].disclosure is Disclosure.ANONYMOUS
    with_consent = {s.recipient_id: s for s in suggested(hinted(("noise",), "possible_dementia", consent="given"))}
    assert with_consent[M].disclosure is Disclosure.FULL


def test_no_suggestion_when_the_rules_route_the_category_already_or_the_recipient_has_a_referral() -> None:
    assert suggested(hinted(("dementia_signs",), "possible_dementia")) == []
    assert suggested(hinted(("hoarding",), "possible_hoarding")) == []
    # Hoarding goes to the consultant, who has this concern (noise) already.
    assert suggested(hinted(("noise",), "possible_hoarding")) == []


def test_every_hint_suggests_apart_from_each_other() -> None:
    facts = hinted(("loneliness",), "possible_eviction", "possible_substance_abuse")
    by_hint = {(s.hint, s.recipient_id) for s in suggested(facts)}
    assert (Hint.POSSIBLE_EVICTION, M) in by_hint and (Hint.POSSIBLE_SUBSTANCE_ABUSE, M) in by_hint
    assert len({s.suggestion_id for s in suggested(facts)}) == len(by_hint)


def test_confirming_creates_a_referral_to_the_suggested_recipient() -> None:
    facts = hinted(("noise",), "possible_dementia")
    (suggestion,) = [s for s in suggested(facts) if s.recipient_id == M]
    decision = decide_suggestion(
        suggestion, Verdict.CONFIRM, reason=None, referrals=referrals_of(facts), by="c1", by_role="consultant", now=NOW
    )
    created = decision.created
    assert created is not None and decision.merged is None
    assert (created.target, created.recipient_id, created.status) == (
        ReferralTarget.MUNICIPALITY,
        M,
        ReferralStatus.REQUESTED,
    )
    assert created.rule_id == "suggestion_possible_dementia" and created.created_at == NOW
    assert created.disclosure is Disclosure.ANONYMOUS and created.suggested_function == "dementia_coordinator"
    assert created.referral_id not in {r.referral_id for r in referrals_of(facts)}
    after = decision.suggestion
    assert after.status is SuggestionStatus.CONFIRMED and after.referral_id == created.referral_id
    assert (after.decided_at, after.decided_by, after.decided_by_role) == (NOW, "c1", "consultant")


def test_confirming_when_the_recipient_has_an_open_referral_merges_into_it() -> None:
    facts = hinted(("noise",), "possible_dementia")
    (suggestion,) = [s for s in suggested(facts) if s.recipient_id == M]
    # The municipality has an open referral of the concern already (e.g. re-routed to it meanwhile).
    concern = referrals_of(facts)
    opened = replace(concern[0], referral_id="open-to-m", target=ReferralTarget.MUNICIPALITY, recipient_id=M)
    decision = decide_suggestion(
        suggestion, Verdict.CONFIRM, reason=None, referrals=[*concern, opened], by="c1", by_role="consultant", now=NOW
    )
    assert decision.created is None and decision.merged is not None
    assert decision.merged.referral_id == "open-to-m" == decision.suggestion.referral_id


def test_dismissing_records_the_decision_and_creates_nothing() -> None:
    facts = hinted(("loneliness",), "possible_hoarding")
    (suggestion,) = suggested(facts)
    decision = decide_suggestion(
        suggestion,
        Verdict.DISMISS,
        reason="Kendt sag",
        referrals=referrals_of(facts),
        by="c1",
        by_role="consultant",
        now=NOW,
    )
    assert decision.referral is None
    assert decision.suggestion.status is SuggestionStatus.DISMISSED and decision.suggestion.reason == "Kendt sag"


@pytest.mark.parametrize("first", list(Verdict))
@pytest.mark.parametrize("second", list(Verdict))
def test_a_suggestion_is_decided_once(first: Verdict, second: Verdict) -> None:
    facts = hinted(("loneliness",), "possible_hoarding")
    (suggestion,) = suggested(facts)
    kw = {"reason": None, "referrals": referrals_of(facts), "by": "c1", "by_role": "consultant", "now": NOW}
    decided = decide_suggestion(suggestion, first, **kw).suggestion
    with pytest.raises(IllegalTransition, match="decided already"):
        decide_suggestion(decided, second, **kw)


def test_an_erased_concern_is_never_disclosed_to_a_confirmed_recipient() -> None:
    facts = hinted(("noise",), "possible_dementia", consent="given")
    (suggestion,) = [s for s in suggested(facts) if s.recipient_id == M]
    assert suggestion.disclosure is Disclosure.FULL
    concern = [replace(r, concern_erased_at=NOW) for r in referrals_of(facts)]
    decision = decide_suggestion(
        suggestion, Verdict.CONFIRM, reason=None, referrals=concern, by="c1", by_role="consultant", now=NOW
    )
    assert decision.created is not None and decision.created.disclosure is Disclosure.ANONYMOUS
