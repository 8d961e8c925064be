"""After erasure nothing personal is disclosed, and the answers say so: routing's referral view says `erased`, and a
re-route after erasure hands on no `full` disclosure (its referral.created.v1 and e-mail would promise details)."""

from dataclasses import replace
from datetime import timedelta

import pytest

from services.routing.entrypoints.schemas import ReferralView
from shared.contracts.vocabulary import DISCLOSURE_ERASED, Disclosure, LegalBasis
from tests.unit.test_routing_reroutes import T0, Concern, _reject

pytestmark = pytest.mark.unit


def _rent_arrears_with_consent(*, erased: bool) -> Concern:
    concern = Concern(
        {
            "categories": ("rent_arrears",),
            "severity": "high",
            "consent": "given",
            "legal_basis": None,
            "place": {"department_id": "holbaek-2", "municipality_code": "0316"},
        }
    )
    assert {r.disclosure for r in concern.referrals.values()} == {Disclosure.FULL}
    if erased:
        concern.referrals = {k: replace(r, concern_erased_at=T0) for k, r in concern.referrals.items()}
    return concern


def test_a_reroute_hands_on_full_disclosure_only_while_the_details_exist() -> None:
    before = _reject(_rent_arrears_with_consent(erased=False), "consultant-holbaek").created
    assert (before.legal_basis, before.disclosure) == (LegalBasis.CONSENT, Disclosure.FULL)
    after = _reject(_rent_arrears_with_consent(erased=True), "consultant-holbaek").created
    assert after.recipient_id == before.recipient_id
    assert after.disclosure is Disclosure.NO_PERSONAL_DETAILS


def test_routings_view_of_a_referral_of_an_erased_concern_discloses_nothing() -> None:
    (referral, *_) = _rent_arrears_with_consent(erased=False).referrals.values()
    now = T0 + timedelta(hours=1)
    assert ReferralView.of(referral, now=now, history=[]).disclosure == "full"
    view = ReferralView.of(replace(referral, concern_erased_at=T0), now=now, history=[])
    assert (view.disclosure, view.concern_erased) == (DISCLOSURE_ERASED, True)
    assert view.model_dump(mode="json")["disclosure"] == "erased"
