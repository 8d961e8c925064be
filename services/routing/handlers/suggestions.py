"""The consultant's decision on a suggestion from a hint: confirm (a referral) or dismiss, once, audited."""

from dataclasses import dataclass

from services.routing import metrics
from services.routing.domain import ids
from services.routing.domain.referral import Referral
from services.routing.domain.suggestions import Suggestion, Verdict, decide_suggestion, decided_event
from services.routing.handlers.concerns import created_envelope
from services.routing.handlers.deps import Deps
from services.routing.handlers.transitions import Forbidden, NotFound
from shared.auth.principal import PLATFORM_WIDE, Principal, Role
from shared.contracts.envelope import make_event

ONLY_CONSULTANT = "only a consultant of the concern's department or an admin may decide a suggestion"


def may_read(principal: Principal, suggestion: Suggestion) -> bool:
    """Admins and ops see every suggestion; a consultant those of its departments (the consultant decides)."""
    if principal.role in PLATFORM_WIDE:
        return True
    return principal.role is Role.CONSULTANT and principal.covers(
        department_id=suggestion.department_id, municipality_code=suggestion.municipality_code
    )


def may_decide(principal: Principal, suggestion: Suggestion) -> bool:
    """The department's consultant or an admin (ops may look, not act), as for a referral's moves."""
    return principal.role is Role.ADMIN or (principal.role is Role.CONSULTANT and may_read(principal, suggestion))


@dataclass(frozen=True)
class Decided:
    """The suggestion as decided, and the referral that carries a confirmation."""

    suggestion: Suggestion
    referral: Referral | None = None


async def decide(deps: Deps, principal: Principal, suggestion_id: str, verdict: Verdict, reason: str | None) -> Decided:
    """Decide in one transaction with its events; raises NotFound, Forbidden or IllegalTransition (decided before)."""
    async with deps.unit_of_work() as uow:
        found = await uow.suggestions.get(suggestion_id)
        if found is None or not may_read(principal, found):
            raise NotFound(suggestion_id)
        if not may_decide(principal, found):
            raise Forbidden(ONLY_CONSULTANT)
        # The concern's referrals under the concern's lock (the one moves take), then the suggestion itself.
        referrals = await uow.referrals.lock_concern(found.concern_id)
        suggestion = await uow.suggestions.get(suggestion_id, for_update=True)
        assert suggestion is not None  # noqa: S101 - suggestions are never deleted
        now = deps.clock.now()
        decision = decide_suggestion(
            suggestion,
            verdict,
            reason=reason,
            referrals=referrals,
            by=principal.client_id,
            by_role=principal.role.value,
            now=now,
        )
        if decision.created:
            await uow.referrals.add([decision.created])
        if decision.merged:
            await uow.referrals.save_merge(decision.merged)
        await uow.suggestions.save_decision(decision.suggestion)
        decided = make_event(
            decided_event(decision.suggestion),
            source=deps.source,
            subject=referrals[0].subject_key if referrals else suggestion.concern_id,
            id=ids.uuid5_text(f"{suggestion_id}|decided"),
            time=now,
        )
        created = [created_envelope(decision.created, deps.source)] if decision.created else []
        await uow.outbox.add([*created, decided])
    metrics.SUGGESTION_DECISIONS.labels(decision.suggestion.status.value).inc()
    if decision.created:
        metrics.referrals_created([decision.created])
    return Decided(decision.suggestion, decision.referral)
