"""Suggestions from hints (issue 16): the recipients a hint's category would bring, for the consultant to decide.

A hint other than a danger or a child (those route at once, by the rules) says the text points to a category the
reporter did not tick: the recipients the rules would give the concern with that category, and do not give it
without, are suggested. The consultant confirms a suggestion (a referral to its recipient is created, or the
recipient's open referral of the concern takes it over: never two open ones, as in a re-route) or dismisses it;
each is decided once. Pure: no I/O.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.routing.domain import ids
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.handover import Handover, fresh_referral, hand_over, withheld
from services.routing.domain.lifecycle import IllegalTransition
from services.routing.domain.records import event_of, same_named
from services.routing.domain.referral import PLACE, Referral
from services.routing.domain.routing import ReferralPlan
from shared.contracts.referrals import ReferralSuggested, ReferralSuggestionDecided
from shared.contracts.vocabulary import (
    ActorRole,
    Category,
    Disclosure,
    Hint,
    LegalBasis,
    ReferralTarget,
    Task,
)

SUGGESTING_HINTS: dict[Hint, Category] = {
    Hint.POSSIBLE_HOARDING: Category.HOARDING,
    Hint.POSSIBLE_DEMENTIA: Category.DEMENTIA_SIGNS,
    Hint.POSSIBLE_MENTAL_HEALTH: Category.MENTAL_HEALTH,
    Hint.POSSIBLE_SUBSTANCE_ABUSE: Category.SUBSTANCE_ABUSE,
    Hint.POSSIBLE_EVICTION: Category.EVICTION_RISK,
}
"""The hints that suggest, and the category whose recipients they suggest."""

SUGGESTED = ("target", "recipient_id", "task", "legal_basis", "disclosure", "suggested_function", "rule_id")
"""What a suggestion takes from the plan the rules made with the hint's category (the recipient and its terms)."""

DECIDED = "this suggestion was decided already ({status}); each suggestion is decided once"


class SuggestionStatus(StrEnum):
    """Open until the consultant decides; then confirmed or dismissed, for good."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class Verdict(StrEnum):
    """What the consultant decides."""

    CONFIRM = "confirm"
    DISMISS = "dismiss"


@dataclass(frozen=True)
class Suggestion:
    """A recipient a hint suggests for a concern, as routing stores it (codes and ids only)."""

    suggestion_id: str
    concern_id: str
    hint: Hint
    target: ReferralTarget
    recipient_id: str
    task: Task
    legal_basis: LegalBasis
    disclosure: Disclosure
    suggested_function: str | None
    rule_id: str
    organisation_id: str
    department_id: str
    municipality_code: str
    rules_version: int
    created_at: datetime
    status: SuggestionStatus = SuggestionStatus.OPEN
    decided_at: datetime | None = None
    decided_by: str | None = None
    decided_by_role: str | None = None
    reason: str | None = None
    referral_id: str | None = None
    """The referral that carries a confirmed suggestion (created, or the recipient's open one)."""


def suggestion_id(concern_id: str, hint: Hint, target: ReferralTarget, recipient_id: str) -> str:
    """Deterministic: a redelivered concern suggests the same, never twice."""
    return ids.uuid5_text(f"{concern_id}|suggestion|{hint.value}|{target.value}|{recipient_id}")


Decide = Callable[[ConcernFacts], Iterable[ReferralPlan]]


def suggest(
    facts: ConcernFacts, plans: Iterable[ReferralPlan], decide: Decide, *, rules_version: int, now: datetime
) -> list[Suggestion]:
    """Per suggesting hint, the recipients the rules would add had the reporter ticked its category."""
    routed = {(p.target, p.recipient_id) for p in plans}
    found: dict[str, Suggestion] = {}
    for hint in sorted(facts.hints & SUGGESTING_HINTS.keys()):
        category = SUGGESTING_HINTS[hint]
        if category in facts.categories:
            continue  # the reporter ticked it: the rules have routed it
        wider = replace(facts, categories=facts.categories | {category})
        for plan in decide(wider):
            if (plan.target, plan.recipient_id) in routed or not plan.recipient_id:
                continue
            sid = suggestion_id(facts.concern_id, hint, plan.target, plan.recipient_id)
            found[sid] = Suggestion(
                suggestion_id=sid,
                hint=hint,
                **same_named(plan, SUGGESTED),
                **same_named(facts, PLACE),
                rules_version=rules_version,
                created_at=now,
            )
    return list(found.values())


@dataclass(frozen=True)
class SuggestionDecision(Handover):
    """The suggestion as decided; on a confirmation, the referral created or the open one that took it over."""

    suggestion: Suggestion

    @property
    def referral(self) -> Referral | None:
        """The referral that carries a confirmed suggestion."""
        return self.carried_by


def decide_suggestion(
    suggestion: Suggestion,
    verdict: Verdict,
    *,
    reason: str | None,
    referrals: Iterable[Referral],
    by: str,
    by_role: str,
    now: datetime,
) -> SuggestionDecision:
    """Confirm or dismiss an open suggestion; `referrals` are its concern's. Raises IllegalTransition."""
    if suggestion.status is not SuggestionStatus.OPEN:
        raise IllegalTransition(DECIDED.format(status=suggestion.status.value))
    common = {"decided_at": now, "decided_by": by, "decided_by_role": by_role, "reason": reason}
    if verdict is Verdict.DISMISS:
        return SuggestionDecision(replace(suggestion, status=SuggestionStatus.DISMISSED, **common))
    concern = list(referrals)
    if not concern:
        raise IllegalTransition("the concern has no referral to take its facts from")
    handover = hand_over(confirmed_referral(suggestion, concern, now=now), concern)
    carrier = handover.carried_by.referral_id  # a handover is created or merged
    after = replace(suggestion, status=SuggestionStatus.CONFIRMED, referral_id=carrier, **common)
    return SuggestionDecision(after, created=handover.created, merged=handover.merged)


def confirmed_referral(suggestion: Suggestion, concern: list[Referral], *, now: datetime) -> Referral:
    """The referral a confirmation creates: the concern's facts (from one of its referrals), the suggestion's
    recipient, task, basis and disclosure as the rules decided them with the hint's category, a fresh clock."""
    base = min(concern, key=lambda r: (r.replaces_referral_id is not None, r.created_at, r.referral_id))
    name = f"{suggestion.concern_id}|{suggestion.target.value}|{suggestion.recipient_id}|{suggestion.suggestion_id}"
    # Erased details cannot be disclosed (an anonymous or detail-free suggestion stays as it is).
    erased = base.concern_erased_at is not None and suggestion.disclosure is Disclosure.FULL
    return fresh_referral(
        base,
        referral_id=ids.uuid5_text(name),
        replaces=None,
        urgent=False,  # the hints that suggest are no danger now: the severity's clock
        now=now,
        target=suggestion.target,
        recipient_id=suggestion.recipient_id,
        task=suggestion.task,
        legal_basis=suggestion.legal_basis,
        disclosure=withheld(suggestion.target) if erased else suggestion.disclosure,
        suggested_function=suggestion.suggested_function,
        rules_version=suggestion.rules_version,
        rule_id=f"suggestion_{suggestion.hint.value}",
    )


def suggested_event(s: Suggestion) -> ReferralSuggested:
    """referral.suggested.v1 (codes and ids only)."""
    return event_of(ReferralSuggested, s, suggested_at=s.created_at)


def decided_event(s: Suggestion) -> ReferralSuggestionDecided:
    """referral.suggestion_decided.v1 for a decided suggestion (never its reason: free text stays in routing)."""
    assert s.decided_at is not None and s.decided_by_role is not None  # noqa: S101 - decided suggestions only
    return event_of(ReferralSuggestionDecided, s, decision=s.status.value, decided_by_role=ActorRole(s.decided_by_role))
