"""The default rules, table-driven: each category, severity and consent gives the expected recipients and basis."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.routing.domain.facts import ConcernFacts
from services.routing.domain.routing import Unroutable, decide, fired_rules
from shared.contracts.vocabulary import Category, Consent, LegalBasis, Severity
from tests.support.reference import default_rules

pytestmark = pytest.mark.unit
RULES = default_rules()
M, C, A = "municipality-0316", "consultant-holbaek", "association-holbaek-naboskab"


def facts(categories, severity="medium", consent="not_asked", legal_basis=None, repeated=False, department="holbaek-1"):
    return ConcernFacts(
        concern_id="c-1",
        organisation_id="org-demo",
        department_id=department,
        municipality_code={"holbaek-1": "0316", "kalundborg-1": "0326", "odense-1": "0461"}[department],
        subject_key="sk_test0000",
        categories=frozenset(Category(c) for c in categories),
        severity=Severity(severity),
        consent=Consent(consent),
        legal_basis=LegalBasis(legal_basis) if legal_basis else None,
        reported_at=datetime(2025, 3, 4, 9, tzinfo=UTC),
        repeated=repeated,
    )


def summary(f):
    """recipient -> (task, legal_basis, disclosure, urgent)"""
    return {p.recipient_id: (p.task.value, p.legal_basis.value, p.disclosure.value, p.urgent) for p in decide(f, RULES)}


# (categories, severity, consent, legal_basis) -> expected recipients with (task, basis, disclosure, urgent)
CASES = [
    # Acute, threats, abuse: municipality urgent; consultant informed (or asked to obtain consent without basis).
    (("noise",), "acute", "given", None, {M: ("act", "consent", "full", True), C: ("act", "consent", "full", True)}),
    (
        ("threats_or_violence",),
        "low",
        "not_asked",
        "vital_interest",
        {M: ("act", "vital_interest", "full", True), C: ("inform", "vital_interest", "full", True)},
    ),
    (
        ("suspected_abuse",),
        "high",
        "not_asked",
        None,
        {M: ("act", "none", "anonymous", True), C: ("obtain_consent", "none", "no_personal_details", True)},
    ),
    # Dementia, mental health: the legal-basis gate.
    (
        ("dementia_signs",),
        "medium",
        "given",
        None,
        {M: ("act", "consent", "full", False), C: ("inform", "consent", "full", False)},
    ),
    (
        ("dementia_signs",),
        "medium",
        "refused",
        None,
        {M: ("act", "none", "anonymous", False), C: ("obtain_consent", "none", "no_personal_details", False)},
    ),
    (("mental_health",), "high", "given", None, {M: ("act", "consent", "full", False)}),
    (("mental_health",), "high", "not_asked", "statutory_duty", {M: ("act", "statutory_duty", "full", False)}),
    (
        ("mental_health",),
        "low",
        "not_asked",
        None,
        {M: ("act", "none", "anonymous", False), C: ("obtain_consent", "none", "no_personal_details", False)},
    ),
    # Ability to live: consultant; municipality too when combined with mental health.
    (("hoarding",), "medium", "not_asked", None, {C: ("act", "none", "no_personal_details", False)}),
    (("odour_nuisance", "self_neglect"), "low", "given", None, {C: ("act", "consent", "full", False)}),
    (
        ("neglect_of_dwelling", "mental_health"),
        "medium",
        "given",
        None,
        {C: ("act", "consent", "full", False), M: ("act", "consent", "full", False)},
    ),
    # Rent arrears and eviction risk: statutory duty is a basis for the municipality.
    (
        ("rent_arrears",),
        "medium",
        "not_asked",
        None,
        {C: ("act", "none", "no_personal_details", False), M: ("act", "statutory_duty", "full", False)},
    ),
    (
        ("eviction_risk",),
        "high",
        "given",
        None,
        {C: ("act", "consent", "full", False), M: ("act", "consent", "full", False)},
    ),
    (("neighbour_conflict",), "low", "not_asked", None, {C: ("act", "none", "no_personal_details", False)}),
    (("noise",), "high", "given", None, {C: ("act", "consent", "full", False)}),
    (
        ("substance_abuse",),
        "medium",
        "given",
        None,
        {M: ("act", "consent", "full", False), C: ("inform", "consent", "full", False)},
    ),
    # Loneliness: the association, never with personal details; health categories filtered away.
    (("loneliness",), "low", "given", None, {A: ("act", "none", "no_personal_details", False)}),
    (("other",), "medium", "not_asked", None, {C: ("triage", "none", "no_personal_details", False)}),
]


@pytest.mark.parametrize(("categories", "severity", "consent", "basis", "expected"), CASES)
def test_default_rules_route_to_the_expected_recipients_with_their_legal_basis(
    categories, severity, consent, basis, expected
):
    assert summary(facts(categories, severity, consent, basis)) == expected


def test_every_category_reaches_someone() -> None:
    for category in Category:
        assert decide(facts((category.value,)), RULES), category


def test_associations_never_see_health_categories() -> None:
    (association,) = [
        p for p in decide(facts(("loneliness", "mental_health"), consent="given"), RULES) if p.target == "association"
    ]
    assert association.categories == (Category.LONELINESS,)
    assert association.legal_basis is LegalBasis.NONE and association.disclosure == "no_personal_details"


def test_loneliness_without_an_association_goes_to_the_consultant() -> None:
    assert summary(facts(("loneliness",), department="kalundborg-1")) == {
        "consultant-kalundborg": ("act", "none", "no_personal_details", False)
    }


def test_repeats_raise_severity_and_bring_in_the_municipality_for_ability_to_live() -> None:
    repeated = facts(("hoarding",), severity="low", repeated=True)
    assert repeated.effective_severity is Severity.MEDIUM
    assert "ability_to_live_repeated" in [r.id for r in fired_rules(repeated, RULES)]
    assert summary(repeated)[M] == ("act", "none", "anonymous", False)
    assert M not in summary(facts(("hoarding",), severity="low"))
    assert facts(("noise",), severity="high", repeated=True).effective_severity is Severity.ACUTE
    assert summary(facts(("noise",), severity="high", repeated=True))[M][3] is True  # acute: urgent


def test_unknown_department_is_unroutable() -> None:
    f = facts(("noise",))
    with pytest.raises(Unroutable, match="unknown_department"):
        decide(ConcernFacts(**{**f.__dict__, "department_id": "nowhere-9"}), RULES)


def test_rules_document_refuses_inconsistencies_naming_them() -> None:
    raw = RULES.model_dump(mode="json")
    raw["consultants"]["consultant-roskilde"]["departments"].append("holbaek-1")
    with pytest.raises(ValidationError, match="holbaek-1 is covered by consultant-holbaek and consultant-roskilde"):
        type(RULES).model_validate(raw)
    bad_rule = RULES.model_dump(mode="json")
    bad_rule["rules"][0]["when"] = {}
    with pytest.raises(ValidationError, match="at least one condition"):
        type(RULES).model_validate(bad_rule)
    typo = RULES.model_dump(mode="json")
    typo["rules"][0]["refer"][0]["tsak"] = "act"
    with pytest.raises(ValidationError, match="tsak"):
        type(RULES).model_validate(typo)
