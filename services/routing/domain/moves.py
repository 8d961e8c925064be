"""A move of one referral, decided against its concern's other referrals (pure).

Issue 15, point 3: a rejection re-routes along the fallback chain and never duplicates or drops a task. The next
recipient keeps the rejected referral's task (an anonymous consultation, or a basis lost on the way, becomes the
task of obtaining consent) and never gets a stronger basis; a recipient with an open referral of the concern
already takes the rejected one over instead of getting a second. Every concern keeps an open or a completed
referral: its last open one cannot be cancelled or failed while none is completed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.routing.domain import ids
from services.routing.domain.document import RulesDocument
from services.routing.domain.fallback import Recipient, next_recipient
from services.routing.domain.handover import Handover, fresh_referral, hand_over, strongest, withheld
from services.routing.domain.lifecycle import OPEN, IllegalTransition, check_transition
from services.routing.domain.referral import Referral, moved
from services.routing.domain.routing import BASIS_RANK
from shared.contracts.vocabulary import Disclosure, LegalBasis, Outcome, ReferralStatus, ReferralTarget, Task

S = ReferralStatus
LAST_RESORT = (
    "this referral is the last resort of its fallback chain and cannot be rejected; "
    "complete it with an outcome (e.g. no_action_needed)"
)
LAST_OPEN = (
    "this is the concern's last open referral and none is completed: it cannot be {to}; "
    "complete it with an outcome (e.g. no_action_needed or could_not_contact) instead"
)


@dataclass(frozen=True)
class Decision(Handover):
    """The referral after the move; on a rejection, where the concern went (`created` or `merged`)."""

    referral: Referral

    @property
    def rerouted_to(self) -> Referral | None:
        """The referral that carries the concern on after a rejection (new or merged)."""
        return self.carried_by


def decide_move(
    before: Referral,
    to: ReferralStatus,
    *,
    reason: str | None,
    outcome: Outcome | None,
    others: Iterable[Referral],
    document: RulesDocument | None,
    rules_version: int,
    now: datetime,
) -> Decision:
    """Check and decide a move; `others` are the concern's other referrals. Raises IllegalTransition."""
    check_transition(before.status, to, reason=reason, outcome=outcome)
    after = moved(before, to, reason=reason, outcome=outcome)
    others = [r for r in others if r.referral_id != before.referral_id]
    if to in (S.CANCELLED, S.FAILED) and not any(r.status in OPEN or r.status is S.COMPLETED for r in others):
        raise IllegalTransition(LAST_OPEN.format(to=to.value))
    if to is not S.REJECTED:
        return Decision(after)
    if document is None:
        raise ValueError("a rejection needs the rules document in force")
    refused = frozenset(r.recipient_id for r in others if r.status is S.REJECTED) | {before.recipient_id}
    recipient = next_recipient(
        target=before.target,
        department_id=before.department_id,
        municipality_code=before.municipality_code,
        refused_by=refused,
        document=document,
    )
    if recipient is None:
        raise IllegalTransition(LAST_RESORT)
    handover = hand_over(rerouted(before, recipient, rules_version=rules_version, now=now), others)
    return Decision(after, created=handover.created, merged=handover.merged)


def handed_on_basis(rejected: Referral) -> LegalBasis:
    """The basis a re-route hands on: the concern's own, never stronger than the rejected referral's (the
    municipality's statutory duty stays with it). An association never has details whatever the basis: after it,
    the concern's own basis applies, as it would have had the concern been routed to the next recipient at once."""
    ceiling = rejected.concern_basis if rejected.target is ReferralTarget.ASSOCIATION else rejected.legal_basis
    own = rejected.concern_basis
    return own if BASIS_RANK[own] <= BASIS_RANK[ceiling] else LegalBasis.NONE


def handed_on_task(rejected: Referral, basis: LegalBasis) -> Task:
    """The rejected referral's task; obtaining consent when the next recipient has no basis where the rejected one
    was an anonymous consultation or had one (without consent the next recipient cannot act on the details)."""
    lost = rejected.disclosure is Disclosure.ANONYMOUS or rejected.legal_basis is not LegalBasis.NONE
    if basis is LegalBasis.NONE and lost:
        return strongest(rejected.task, Task.OBTAIN_CONSENT)
    return rejected.task


def rerouted(rejected: Referral, recipient: Recipient, *, rules_version: int, now: datetime) -> Referral:
    """The referral that replaces a rejected one: same concern and task, the next recipient, a fresh clock."""
    basis = handed_on_basis(rejected)
    target = recipient.target
    return fresh_referral(
        rejected,
        referral_id=ids.referral_id(rejected.concern_id, target, recipient.recipient_id, replaces=rejected.referral_id),
        replaces=rejected.referral_id,
        urgent=rejected.urgent,
        now=now,
        target=target,
        recipient_id=recipient.recipient_id,
        task=handed_on_task(rejected, basis),
        legal_basis=basis,
        # Erased details cannot be disclosed: the next recipient is told so (referral.created.v1, its e-mail).
        disclosure=withheld(target) if basis is LegalBasis.NONE or rejected.concern_erased_at else Disclosure.FULL,
        suggested_function=rejected.suggested_function if target is ReferralTarget.MUNICIPALITY else None,
        rules_version=rules_version,
        rule_id=f"fallback_{rejected.target.value}",
    )
