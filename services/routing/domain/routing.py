"""Who gets a concern: the rules that fire, the legal-basis gate, the association rule, one referral per recipient."""

from dataclasses import dataclass, replace

from services.routing.domain.document import RulesDocument
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.rules import ReferralSpec, Rule
from shared.contracts.vocabulary import Category, Disclosure, LegalBasis, ReferralTarget, Task

# When two rules ask the same recipient for different things, the referral carries the most demanding
# task: obtaining consent first (it unblocks the municipality), then acting, triage, being informed.
# Calling at once about a danger nobody confirmed comes before everything.
TASK_RANK = {Task.CALL: 5, Task.OBTAIN_CONSENT: 4, Task.ACT: 3, Task.TRIAGE: 2, Task.INFORM: 1}
BASIS_RANK = {LegalBasis.CONSENT: 3, LegalBasis.STATUTORY_DUTY: 2, LegalBasis.VITAL_INTEREST: 1, LegalBasis.NONE: 0}


class Unroutable(Exception):
    """The rules document has no recipient for the concern's department or municipality."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ReferralPlan:
    """A referral routing will create: to whom, to do what, seeing what, and which rule decided."""

    target: ReferralTarget
    recipient_id: str
    task: Task
    legal_basis: LegalBasis
    disclosure: Disclosure
    categories: tuple[Category, ...]
    urgent: bool
    rule_id: str
    suggested_function: str | None = None
    underretning: bool = False


def decide(facts: ConcernFacts, document: RulesDocument) -> list[ReferralPlan]:
    """The referrals for a concern: one per recipient, in a stable order (pure, no side effects)."""
    reason = document.unroutable(facts.department_id, facts.municipality_code)
    if reason:
        raise Unroutable(reason)
    merged: dict[tuple[ReferralTarget, str], ReferralPlan] = {}
    for rule in fired_rules(facts, document):
        for spec in rule.refer:
            for plan in _expand(spec, rule, facts, document):
                key = (plan.target, plan.recipient_id)
                merged[key] = _merge(merged[key], plan) if key in merged else plan
    return sorted(merged.values(), key=lambda p: (p.target.value, p.recipient_id))


def fired_rules(facts: ConcernFacts, document: RulesDocument) -> list[Rule]:
    """The rules whose condition holds, in document order."""
    return [rule for rule in document.rules if rule.matches(facts)]


def _categories(facts: ConcernFacts) -> tuple[Category, ...]:
    return tuple(sorted(facts.categories))


def _expand(spec: ReferralSpec, rule: Rule, facts: ConcernFacts, document: RulesDocument) -> list[ReferralPlan]:
    if spec.target is ReferralTarget.MUNICIPALITY:
        return _to_municipality(spec, rule, facts, document)
    if spec.target is ReferralTarget.ASSOCIATION:
        return _to_association(spec, rule, facts, document)
    return [_to_consultant(spec.task, spec.urgent, rule.id, facts, document)]


def _to_consultant(
    task: Task, urgent: bool, rule_id: str, facts: ConcernFacts, document: RulesDocument
) -> ReferralPlan:
    basis = facts.basis_for_personal_details
    return ReferralPlan(
        target=ReferralTarget.CONSULTANT,
        recipient_id=document.consultant_for(facts.department_id) or "",
        task=task,
        legal_basis=basis or LegalBasis.NONE,
        disclosure=Disclosure.FULL if basis else Disclosure.NO_PERSONAL_DETAILS,
        categories=_categories(facts),
        urgent=urgent,
        rule_id=rule_id,
    )


def _to_municipality(
    spec: ReferralSpec, rule: Rule, facts: ConcernFacts, document: RulesDocument
) -> list[ReferralPlan]:
    """The legal-basis gate: personal details only with consent, vital interest or statutory duty."""
    if spec.underretning:
        return [_underretning(spec, rule, facts, document)]
    basis = facts.basis_for_personal_details or (LegalBasis.STATUTORY_DUTY if spec.statutory_duty else None)
    if basis is None and spec.vital_interest_when_confirmed and facts.danger_confirmed:
        basis = LegalBasis.VITAL_INTEREST
    plan = ReferralPlan(
        target=ReferralTarget.MUNICIPALITY,
        recipient_id=document.municipality_entry(facts.municipality_code) or "",
        task=spec.task,
        legal_basis=basis or LegalBasis.NONE,
        disclosure=Disclosure.FULL if basis else Disclosure.ANONYMOUS,
        categories=_categories(facts),
        urgent=spec.urgent,
        rule_id=rule.id,
        suggested_function=spec.suggested_function,
    )
    if basis:
        return [plan]
    # An anonymous consultation for the municipality, and the consultant asks the resident for consent (or, for a
    # danger the text points to but the reporter did not confirm, calls at once).
    task = Task.CALL if spec.vital_interest_when_confirmed else Task.OBTAIN_CONSENT
    return [plan, _to_consultant(task, spec.urgent, rule.id, facts, document)]


def _underretning(spec: ReferralSpec, rule: Rule, facts: ConcernFacts, document: RulesDocument) -> ReferralPlan:
    """To the children and youth entry (the single entry where the directory names none), on statutory duty: the
    duty to notify holds whatever the parents consent to."""
    code = facts.municipality_code
    return ReferralPlan(
        target=ReferralTarget.MUNICIPALITY,
        recipient_id=document.children_entry(code) or document.municipality_entry(code) or "",
        task=spec.task,
        legal_basis=LegalBasis.STATUTORY_DUTY,
        disclosure=Disclosure.FULL,
        categories=_categories(facts),
        urgent=spec.urgent,
        rule_id=rule.id,
        suggested_function=spec.suggested_function,
        underretning=True,
    )


def _to_association(spec: ReferralSpec, rule: Rule, facts: ConcernFacts, document: RulesDocument) -> list[ReferralPlan]:
    """Associations never get health categories or personal details; without one, `otherwise` decides."""
    visible = tuple(sorted(facts.categories - document.health_categories))
    associations = document.associations_for(facts.department_id)
    if associations and visible:
        plan = ReferralPlan(
            target=ReferralTarget.ASSOCIATION,
            recipient_id=associations[0],
            task=spec.task,
            legal_basis=LegalBasis.NONE,
            disclosure=Disclosure.NO_PERSONAL_DETAILS,
            categories=visible,
            urgent=spec.urgent,
            rule_id=rule.id,
        )
        return [plan]
    otherwise = spec.otherwise or ReferralTarget.CONSULTANT
    substitute = ReferralSpec(target=otherwise, task=spec.task, urgent=spec.urgent)
    return _expand(substitute, rule, facts, document)


def _merge(first: ReferralPlan, other: ReferralPlan) -> ReferralPlan:
    """One referral per recipient: the most demanding task, the strongest basis, urgent if either is."""
    leader = other if TASK_RANK[other.task] > TASK_RANK[first.task] else first
    basis = max(first.legal_basis, other.legal_basis, key=BASIS_RANK.__getitem__)
    disclosure = (
        first.disclosure if BASIS_RANK[first.legal_basis] >= BASIS_RANK[other.legal_basis] else other.disclosure
    )
    return replace(
        leader,
        legal_basis=basis,
        disclosure=disclosure,
        urgent=first.urgent or other.urgent,
        suggested_function=first.suggested_function or other.suggested_function,
        underretning=first.underretning or other.underretning,
    )
