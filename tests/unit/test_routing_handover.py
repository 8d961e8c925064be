"""Handing a concern on (a re-route, a confirmed suggestion): a fresh referral keeps the concern's facts and resets
its lifecycle; the recipient's open referral takes a handed-on one over instead of getting a second."""

from dataclasses import fields, replace
from datetime import timedelta

import pytest

from services.routing.domain.handover import fresh_referral, hand_over, withheld
from shared.contracts.vocabulary import Disclosure, ReferralStatus, ReferralTarget, Task
from tests.unit.test_derived_views import T0, full_referral

pytestmark = pytest.mark.unit

KEPT = {
    # the concern's facts
    "concern_id",
    "subject_key",
    "organisation_id",
    "department_id",
    "municipality_code",
    "categories",
    "severity",
    "repeated",
    "concern_basis",
    "concern_erased_at",
    # the recipient and what it is asked, unless the caller changes them
    "target",
    "recipient_id",
    "legal_basis",
    "disclosure",
    "task",
    "suggested_function",
    "rules_version",
    "rule_id",
}


def test_a_fresh_referral_keeps_the_concerns_facts_and_resets_every_other_field() -> None:
    base = full_referral(status=ReferralStatus.ACCEPTED, concern_erased_at=T0)
    now = T0 + timedelta(days=3)
    fresh = fresh_referral(base, referral_id="ref-9", replaces="ref-1", urgent=False, now=now)

    kept = {f.name for f in fields(base) if getattr(fresh, f.name) == getattr(base, f.name)}
    # A field added to Referral is kept by a re-route unless fresh_referral resets it: decide, then list it here.
    assert kept == KEPT
    assert (fresh.referral_id, fresh.replaces_referral_id, fresh.status) == ("ref-9", "ref-1", ReferralStatus.REQUESTED)
    assert (fresh.created_at, fresh.transitions, fresh.outcome, fresh.underretning) == (now, 0, None, False)
    assert now < fresh.ack_due_at < fresh.escalate_at


def test_the_recipients_open_referral_takes_a_handed_on_one_over() -> None:
    open_one = full_referral(referral_id="open", status=ReferralStatus.RECEIVED, urgent=False, task=Task.INFORM)
    incoming = replace(full_referral(referral_id="new"), urgent=True, task=Task.ACT, ack_due_at=T0)

    taken = hand_over(incoming, [open_one])
    assert (taken.created, taken.carried_by.referral_id) == (None, "open")
    assert (taken.merged.task, taken.merged.urgent, taken.merged.ack_due_at) == (Task.ACT, True, T0)

    closed = replace(open_one, status=ReferralStatus.COMPLETED)
    other = replace(open_one, recipient_id="someone-else")
    for concern in ([closed], [other], []):
        handed = hand_over(incoming, concern)
        assert (handed.created, handed.merged, handed.carried_by) == (incoming, None, incoming)


def test_details_are_withheld_from_the_municipality_as_an_anonymous_consultation() -> None:
    assert withheld(ReferralTarget.MUNICIPALITY) is Disclosure.ANONYMOUS
    assert {withheld(t) for t in ReferralTarget if t is not ReferralTarget.MUNICIPALITY} == {
        Disclosure.NO_PERSONAL_DETAILS
    }
