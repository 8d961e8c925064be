"""A referral: one recipient's share of a concern, its state and its clock; and the events it records.

Re-routing a rejected referral is in `moves.py`."""

from dataclasses import dataclass, fields, replace
from datetime import datetime

from services.routing.domain import clock, ids
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.records import event_of, same_named
from services.routing.domain.routing import ReferralPlan
from shared.contracts.referrals import (
    ReferralClockRan,
    ReferralCreated,
    ReferralEscalated,
    ReferralSlaBreached,
    ReferralStatusChanged,
)
from shared.contracts.vocabulary import (
    ActorRole,
    Category,
    Disclosure,
    LegalBasis,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    Severity,
    Task,
)


@dataclass(frozen=True)
class Referral:
    """A referral as routing stores it (no personal data: ids, places, categories, clocks)."""

    referral_id: str
    concern_id: str
    subject_key: str
    organisation_id: str
    department_id: str
    municipality_code: str
    target: ReferralTarget
    recipient_id: str
    categories: tuple[Category, ...]
    severity: Severity
    urgent: bool
    repeated: bool
    legal_basis: LegalBasis
    disclosure: Disclosure
    task: Task
    suggested_function: str | None
    rules_version: int
    rule_id: str
    concern_basis: LegalBasis
    """The concern's own basis for personal details, so a re-route applies the same legal-basis gate."""
    status: ReferralStatus
    ack_due_at: datetime
    escalate_at: datetime
    created_at: datetime
    replaces_referral_id: str | None = None
    transitions: int = 0
    outcome: Outcome | None = None
    reject_reason: str | None = None
    breached_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_contact_id: str | None = None
    concern_erased_at: datetime | None = None
    underretning: bool = False
    """A statutory notification (barnets lov) to the children and youth entry."""
    receipt_due_at: datetime | None = None
    """For an underretning: when the municipality must have confirmed receipt (6 working days)."""
    receipt_breached_at: datetime | None = None
    """When the clocks found that receipt unconfirmed past its due time."""


PLACE = ("concern_id", "organisation_id", "department_id", "municipality_code")
"""What a referral or a suggestion takes from its concern's facts as they are: the concern and where it arose."""


def from_plan(
    plan: ReferralPlan, facts: ConcernFacts, *, rules_version: int, now: datetime, replaces: str | None = None
) -> Referral:
    """A new `requested` referral with its clock started at `now`: every field of the plan (to whom, to do what,
    seeing what, which rule), the concern's facts, its severity after repeats."""
    severity = facts.effective_severity
    return Referral(
        referral_id=ids.referral_id(facts.concern_id, plan.target, plan.recipient_id, replaces=replaces),
        **same_named(plan, (f.name for f in fields(ReferralPlan))),
        **same_named(facts, (*PLACE, "subject_key", "repeated")),
        severity=severity,
        rules_version=rules_version,
        concern_basis=facts.basis_for_personal_details or LegalBasis.NONE,
        status=ReferralStatus.REQUESTED,
        **due_times(plan, severity, now),
        created_at=now,
        replaces_referral_id=replaces,
        receipt_due_at=clock.receipt_due_at(now) if plan.underretning else None,
    )


def due_times(plan: ReferralPlan, severity: Severity, now: datetime) -> dict[str, datetime]:
    """When a referral of `plan` created at `now` must be acknowledged and when it escalates (`ack_due_at`,
    `escalate_at`); the simulation shows the same."""
    return {
        "ack_due_at": clock.ack_due_at(now, severity, urgent=plan.urgent, underretning=plan.underretning),
        "escalate_at": clock.escalate_at(now, severity, urgent=plan.urgent, underretning=plan.underretning),
    }


def moved(referral: Referral, to: ReferralStatus, *, reason: str | None, outcome: Outcome | None) -> Referral:
    """The referral after a legal move (check it with lifecycle.check_transition first)."""
    return replace(
        referral,
        status=to,
        transitions=referral.transitions + 1,
        outcome=outcome,
        reject_reason=reason if to is ReferralStatus.REJECTED else referral.reject_reason,
    )


def created_event(r: Referral) -> ReferralCreated:
    """referral.created.v1 for a new referral (its fields are the referral's; `underretning` only when one)."""
    return event_of(ReferralCreated, r, underretning=True if r.underretning else None)


def status_changed_event(
    before: Referral,
    after: Referral,
    *,
    by: ActorRole,
    at: datetime,
    reason: str | None,
    rerouted_to: Referral | None = None,
    merged: bool = False,
) -> ReferralStatusChanged:
    """referral.status_changed.v1 for a move (a rejection names the referral that carries the concern on)."""
    carried = {
        "rerouted_to_referral_id": rerouted_to.referral_id if rerouted_to else None,
        "merged_into_open": merged if rerouted_to else None,
        "rerouted_to_target": rerouted_to.target if rerouted_to else None,
        "rerouted_to_recipient_id": rerouted_to.recipient_id if rerouted_to else None,
        "rerouted_task": rerouted_to.task if rerouted_to else None,
    }
    return event_of(
        ReferralStatusChanged,
        after,
        from_status=before.status,
        to_status=after.status,
        reason=reason,
        changed_by_role=by,
        changed_at=at,
        **carried,
    )


def _clock_fields(r: Referral) -> dict:
    return same_named(r, ReferralClockRan.model_fields)


def breached_event(r: Referral, at: datetime) -> ReferralSlaBreached:
    """referral.sla_breached.v1: the recipient did not acknowledge in time."""
    return ReferralSlaBreached(**_clock_fields(r), breached_at=at)


def receipt_breached_event(r: Referral, at: datetime) -> ReferralSlaBreached:
    """referral.sla_breached.v1 on the underretning_receipt clock: receipt not confirmed within 6 working days."""
    assert r.receipt_due_at is not None  # noqa: S101 - only underretninger have the clock
    fields = _clock_fields(r) | {"ack_due_at": r.receipt_due_at}
    return ReferralSlaBreached(**fields, breached_at=at, clock="underretning_receipt")


def escalated_event(r: Referral, contact: str, at: datetime) -> ReferralEscalated:
    """referral.escalated.v1: still unacknowledged at twice the due time."""
    return ReferralEscalated(**_clock_fields(r), escalation_contact_id=contact, escalated_at=at)
