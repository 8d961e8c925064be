"""The staff desks' choices: worklist order (overdue first, then by due time, closed last), the moves a status
offers (the routing lifecycle's legal next steps, nothing from a closed referral), where a rejection went, Danish
labels that never leave a cell empty."""

import pytest

from services.portal.domain import staff
from shared.contracts.vocabulary import Outcome, ReferralStatus, RejectReason

pytestmark = pytest.mark.unit


def referral(rid: str, status: str, ack: str, escalate: str = "2026-12-20T10:00:00Z", **extra) -> dict:
    return {"referral_id": rid, "status": status, "ack_due_at": ack, "escalate_at": escalate,
            "created_at": "2026-12-01T10:00:00Z", "overdue": False, **extra}  # fmt: skip


def test_overdue_referrals_come_first_then_the_unacknowledged_by_due_time_then_the_rest_and_closed_ones_last() -> None:
    items = [
        referral("closed", "completed", "2026-12-01T11:00:00Z"),
        referral("late", "requested", "2026-12-09T10:00:00Z"),
        referral("overdue", "requested", "2026-12-10T10:00:00Z", overdue=True),
        referral("soon", "requested", "2026-12-05T10:00:00Z"),
        referral("working", "in_progress", "2026-12-02T10:00:00Z", escalate="2026-12-06T10:00:00Z"),
    ]
    assert [r["referral_id"] for r in staff.worklist_order(items)] == ["overdue", "soon", "late", "working", "closed"]


def test_a_referral_is_due_only_while_it_waits_for_its_acknowledgement() -> None:
    waiting = referral("a", "requested", "2026-12-05T10:00:00Z")
    accepted = referral("b", "accepted", "2026-12-05T10:00:00Z", escalate="2026-12-09T10:00:00Z")
    assert staff.due_of(waiting).isoformat() == "2026-12-05T10:00:00+00:00"
    assert staff.due_of(accepted) is None
    assert staff.due_of(referral("c", "rejected", "2026-12-05T10:00:00Z")) is None


LEGAL = {
    "requested": {"received"},
    "received": {"accepted", "rejected"},
    "accepted": {"in_progress"},
    "in_progress": {"on_hold", "completed"},
    "on_hold": {"in_progress", "completed"},
}


@pytest.mark.parametrize("status", [s.value for s in ReferralStatus])
def test_every_offered_move_is_one_routing_allows(status: str) -> None:
    offered = {m.to for m in staff.moves_for(status)}
    assert offered == LEGAL.get(status, set())
    for move in staff.moves_for(status):
        assert move.asks == {"rejected": "reason", "completed": "outcome"}.get(move.to)


def test_a_rejection_names_the_referral_that_replaced_it() -> None:
    history = [
        {"to_status": "received", "rerouted_to": None},
        {"to_status": "rejected", "rerouted_to": "next-1"},
    ]
    assert staff.rerouted_to({"history": history}) == "next-1"
    assert staff.rerouted_to({"history": history[:1]}) is None


def test_every_outcome_and_reject_reason_has_a_danish_label() -> None:
    assert set(staff.OUTCOME) == {o.value for o in Outcome}
    assert set(staff.REJECT_REASON) == {r.value for r in RejectReason}
    assert set(staff.STATUS) == {s.value for s in ReferralStatus}
    assert staff.label(staff.STATUS, None) == "–"
    assert staff.label(staff.STATUS, "unknown_code") == "unknown_code"


def test_hours_read_as_danish_text() -> None:
    assert staff.hours(None) == "–"
    assert staff.hours(3.25) == "3,2 timer"
    assert staff.hours(72) == "3,0 døgn"
