"""Handing a concern on to another recipient (pure): a fresh referral, or the recipient's open referral of the
concern takes it over (never two open ones to the same recipient).

A rejection's re-route (`moves.py`) and a confirmed suggestion (`suggestions.py`) both hand a concern on this way.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.routing.domain import clock
from services.routing.domain.lifecycle import OPEN
from services.routing.domain.referral import Referral
from services.routing.domain.routing import TASK_RANK
from shared.contracts.vocabulary import Disclosure, ReferralStatus, ReferralTarget, Task


@dataclass(frozen=True, kw_only=True)
class Handover:
    """Where a handed-on concern went: a new referral, or the recipient's open one that took it over."""

    created: Referral | None = None
    """A new referral to the recipient."""
    merged: Referral | None = None
    """The referral already open to that recipient, as it is after taking the handed-on one over."""

    @property
    def carried_by(self) -> Referral | None:
        """The referral that carries the concern on (new or merged)."""
        return self.created or self.merged


def hand_over(incoming: Referral, concern: list[Referral]) -> Handover:
    """`incoming` given to the concern whose referrals are `concern`: merged into its recipient's open one, if any."""
    open_one = next((r for r in concern if r.status in OPEN and r.recipient_id == incoming.recipient_id), None)
    if open_one is not None:
        return Handover(merged=merged(open_one, incoming))
    return Handover(created=incoming)


def fresh_referral(
    base: Referral, *, referral_id: str, replaces: str | None, urgent: bool, now: datetime, **changes: Any
) -> Referral:
    """`base`'s concern as a new `requested` referral with `changes` (its recipient, task, basis...): a fresh clock,
    no moves, outcome, breach or escalation, and no underretning (the statutory notification is the first one's)."""
    return replace(
        base,
        referral_id=referral_id,
        replaces_referral_id=replaces,
        status=ReferralStatus.REQUESTED,
        urgent=urgent,
        ack_due_at=clock.ack_due_at(now, base.severity, urgent=urgent),
        escalate_at=clock.escalate_at(now, base.severity, urgent=urgent),
        created_at=now,
        transitions=0,
        outcome=None,
        reject_reason=None,
        breached_at=None,
        escalated_at=None,
        escalation_contact_id=None,
        underretning=False,
        receipt_due_at=None,
        receipt_breached_at=None,
        **changes,
    )


def withheld(target: ReferralTarget) -> Disclosure:
    """What a recipient is shown when the details may not be: the municipality an anonymous consultation, others
    no personal details."""
    return Disclosure.ANONYMOUS if target is ReferralTarget.MUNICIPALITY else Disclosure.NO_PERSONAL_DETAILS


def strongest(first: Task, other: Task) -> Task:
    """The more demanding task (obtain_consent > act > triage > inform)."""
    return other if TASK_RANK[other] > TASK_RANK[first] else first


def merged(open_one: Referral, incoming: Referral) -> Referral:
    """An open referral taking a handed-on one over: the more demanding task, urgent if either is, the earlier due
    times; its basis, disclosure, categories and state as they were (a merge never shows a recipient more)."""
    return replace(
        open_one,
        task=strongest(open_one.task, incoming.task),
        urgent=open_one.urgent or incoming.urgent,
        ack_due_at=min(open_one.ack_due_at, incoming.ack_due_at),
        escalate_at=min(open_one.escalate_at, incoming.escalate_at),
    )
