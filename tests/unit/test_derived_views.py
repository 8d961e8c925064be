"""Routing's HTTP views are derived from the domain: every field of `Referral` and `Suggestion` is in its view
with the domain's type, or left out by name; the views' own fields are only what they show differently. A
referral's events take their fields from it by name."""

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, get_type_hints

import pytest
from pydantic import ValidationError

from services.routing.domain.referral import (
    Referral,
    breached_event,
    created_event,
    escalated_event,
    receipt_breached_event,
)
from services.routing.domain.routing import ReferralPlan
from services.routing.domain.suggestions import Suggestion, SuggestionStatus
from services.routing.entrypoints.schemas import HistoryEntry, ReferralView, SimulatedReferral, SuggestionView
from shared.contracts.referrals import ReferralClockRan, ReferralCreated
from shared.contracts.vocabulary import (
    DISCLOSURE_ERASED,
    Category,
    Disclosure,
    Hint,
    LegalBasis,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    Severity,
    Task,
)
from shared.web.derived import derived_from

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
# Routing's internals: the concern's own basis (the re-route gate), the move count, the erasure time (shown as a flag).
REFERRAL_LEFT_OUT = {"concern_basis", "transitions", "concern_erased_at"}
SUGGESTION_LEFT_OUT = {"decided_by", "organisation_id"}  # who decided stays in the audit record


def full_referral(**changes: object) -> Referral:
    """A referral whose every field differs from its default, so a field the view drops cannot pass unseen."""
    referral = Referral(
        referral_id="ref-1",
        concern_id="con-1",
        subject_key="subject-1",
        organisation_id="org-1",
        department_id="dep-1",
        municipality_code="0316",
        target=ReferralTarget.MUNICIPALITY,
        recipient_id="mun-0316",
        categories=(Category.HOARDING, Category.NEGLECT_OF_DWELLING),
        severity=Severity.HIGH,
        urgent=True,
        repeated=True,
        legal_basis=LegalBasis.CONSENT,
        disclosure=Disclosure.FULL,
        task=Task.ACT,
        suggested_function="housing",
        rules_version=7,
        rule_id="rule_1",
        concern_basis=LegalBasis.CONSENT,
        status=ReferralStatus.REQUESTED,
        ack_due_at=T0 + timedelta(days=1),
        escalate_at=T0 + timedelta(days=2),
        created_at=T0,
        replaces_referral_id="ref-0",
        transitions=3,
        outcome=Outcome.NO_ACTION_NEEDED,
        reject_reason="not_ours",
        breached_at=T0 + timedelta(hours=25),
        escalated_at=T0 + timedelta(hours=49),
        escalation_contact_id="lead-1",
        concern_erased_at=None,
        underretning=True,
        receipt_due_at=T0 + timedelta(days=8),
        receipt_breached_at=T0 + timedelta(days=9),
    )
    return replace(referral, **changes)


def full_suggestion() -> Suggestion:
    """A decided suggestion whose every field differs from its default."""
    return Suggestion(
        suggestion_id="sug-1",
        concern_id="con-1",
        hint=Hint.POSSIBLE_HOARDING,
        target=ReferralTarget.CONSULTANT,
        recipient_id="consultant-1",
        task=Task.TRIAGE,
        legal_basis=LegalBasis.NONE,
        disclosure=Disclosure.NO_PERSONAL_DETAILS,
        suggested_function="social",
        rule_id="rule_2",
        organisation_id="org-1",
        department_id="dep-1",
        municipality_code="0316",
        rules_version=7,
        created_at=T0,
        status=SuggestionStatus.CONFIRMED,
        decided_at=T0 + timedelta(hours=1),
        decided_by="client-1",
        decided_by_role="consultant",
        reason="seen it",
        referral_id="ref-2",
    )


@pytest.mark.parametrize(
    ("view", "domain", "left_out", "own"),
    [
        (ReferralView, Referral, REFERRAL_LEFT_OUT, {"overdue", "concern_erased", "history", "suggestions"}),
        (SuggestionView, Suggestion, SUGGESTION_LEFT_OUT, set()),
        (SimulatedReferral, ReferralPlan, {"underretning"}, {"ack_due_at", "escalate_at"}),
    ],
    ids=["referral", "suggestion", "simulated"],
)
def test_every_domain_field_is_in_its_view_with_its_type_or_left_out_by_name(view, domain, left_out, own) -> None:  # noqa: ANN001
    hints = get_type_hints(domain)
    retyped = {"disclosure": Disclosure | Literal["erased"]} if view is ReferralView else {}
    for f in fields(domain):
        if f.name in left_out:
            assert f.name not in view.model_fields, f.name
        else:
            assert view.model_fields[f.name].annotation == retyped.get(f.name, hints[f.name]), f.name
    assert view.left_out == left_out
    assert set(view.model_fields) - {f.name for f in fields(domain)} == own


def test_the_referral_view_shows_every_value_of_the_referral() -> None:
    referral = full_referral()
    history = [
        HistoryEntry(
            seq=1,
            from_status=ReferralStatus.REQUESTED,
            to_status=ReferralStatus.RECEIVED,
            reason=None,
            outcome=None,
            note=None,
            changed_by_role="consultant",
            changed_at=T0,
            rerouted_to=None,
        ).model_dump()
    ]
    view = ReferralView.of(referral, now=T0 + timedelta(days=3), history=history, suggestions=[full_suggestion()])

    for name in set(ReferralView.model_fields) - {"overdue", "concern_erased", "history", "suggestions"}:
        assert getattr(view, name) == getattr(referral, name), name
    assert (view.overdue, view.concern_erased, len(view.history)) == (True, False, 1)
    assert view.suggestions == [SuggestionView.of(full_suggestion())]
    assert ReferralView.of(referral, now=T0, history=[]).overdue is False
    erased = ReferralView.of(full_referral(concern_erased_at=T0), now=T0, history=[])
    assert (erased.disclosure, erased.concern_erased) == (DISCLOSURE_ERASED, True)


def test_the_suggestion_view_shows_every_value_but_who_decided() -> None:
    suggestion = full_suggestion()
    answer = SuggestionView.of(suggestion).model_dump()

    assert answer == {
        f.name: getattr(suggestion, f.name) for f in fields(Suggestion) if f.name not in SUGGESTION_LEFT_OUT
    }
    assert "client-1" not in SuggestionView.of(suggestion).model_dump_json()


def test_the_referral_views_schema_keeps_its_required_fields() -> None:
    """The HTTP contract: the fields routing answered before the views were derived, required as they were."""
    required = set(ReferralView.model_json_schema()["required"])
    optional = set(ReferralView.model_fields) - required

    assert optional == {"underretning", "receipt_due_at", "receipt_breached_at", "suggestions"}
    assert {"replaces_referral_id", "outcome", "reject_reason", "breached_at", "escalated_at"} <= required
    assert set(SuggestionView.model_json_schema()["required"]) == set(SuggestionView.model_fields)


@dataclass(frozen=True)
class _Thing:
    name: str
    size: int
    secret: str
    tags: tuple[str, ...] = ()
    note: str | None = None
    extra: list[str] = field(default_factory=list)


def test_every_field_of_the_domain_is_in_a_derived_view_unless_left_out() -> None:
    class ThingView(derived_from(_Thing, leave_out=("secret",), defaults=("note", "extra"))):
        size: str  # a view may retype a field; it keeps its place

    assert list(ThingView.model_fields) == ["name", "size", "tags", "note", "extra"]
    assert ThingView.model_json_schema()["required"] == ["name", "size", "tags"]
    view = ThingView(**ThingView.domain_values(_Thing("a", 1, "s", ("x",))) | {"size": "1"})
    assert view.model_dump() == {"name": "a", "size": "1", "tags": ("x",), "note": None, "extra": []}
    with pytest.raises(ValidationError):
        ThingView(name="a", size="1")  # required unless its default is kept by name


@pytest.mark.parametrize("spec", [{"leave_out": ("secrets",)}, {"defaults": ("size",)}, {"defaults": ("nope",)}])
def test_a_name_that_is_not_a_field_or_has_no_default_is_refused(spec: dict) -> None:
    with pytest.raises(TypeError):
        derived_from(_Thing, **spec)


def test_a_referrals_events_carry_its_values_under_the_same_names() -> None:
    """created_event and the clocks' events take the contract's fields from the referral by name."""
    referral = full_referral()
    created = created_event(referral)
    for name in set(ReferralCreated.model_fields) - {"underretning"}:
        assert getattr(created, name) == getattr(referral, name), name
    assert created.underretning is True and created_event(replace(referral, underretning=False)).underretning is None

    breached, escalated = breached_event(referral, T0), escalated_event(referral, "lead-2", T0)
    for name in ReferralClockRan.model_fields:
        assert getattr(breached, name) == getattr(escalated, name) == getattr(referral, name), name
    assert receipt_breached_event(referral, T0).ack_due_at == referral.receipt_due_at
