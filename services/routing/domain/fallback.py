"""Re-routing a rejected referral along its fallback chain: never a dead end."""

from dataclasses import dataclass

from services.routing.domain.document import FallbackStep, RulesDocument
from shared.contracts.vocabulary import ReferralTarget


@dataclass(frozen=True)
class Recipient:
    """Who a re-routed referral goes to."""

    target: ReferralTarget
    recipient_id: str


def _resolve(
    step: FallbackStep, department_id: str, municipality_code: str, document: RulesDocument
) -> Recipient | None:
    consultant = document.consultant_for(department_id)
    if step is FallbackStep.CONSULTANT and consultant:
        return Recipient(ReferralTarget.CONSULTANT, consultant)
    if step is FallbackStep.CONSULTANT_ESCALATION and consultant:
        return Recipient(ReferralTarget.CONSULTANT, document.escalation_contact(consultant))
    entry = document.municipality_entry(municipality_code)
    if step is FallbackStep.MUNICIPALITY and entry:
        return Recipient(ReferralTarget.MUNICIPALITY, entry)
    return None


def next_recipient(
    *,
    target: ReferralTarget,
    department_id: str,
    municipality_code: str,
    refused_by: frozenset[str],
    document: RulesDocument,
) -> Recipient | None:
    """The first step of the target's chain whose recipient has not refused this concern; None = last resort."""
    for step in document.fallback.get(target, ()):
        recipient = _resolve(step, department_id, municipality_code, document)
        if recipient and recipient.recipient_id not in refused_by:
            return recipient
    return None
