"""Moving a referral along its lifecycle; a rejection re-routes it along the fallback chain."""

from dataclasses import dataclass

from services.routing import metrics
from services.routing.domain import ids
from services.routing.domain.moves import decide_move
from services.routing.domain.referral import Referral, status_changed_event
from services.routing.handlers import scope
from services.routing.handlers.concerns import created_envelope
from services.routing.handlers.deps import Deps
from shared.auth.principal import Principal
from shared.contracts.envelope import make_event
from shared.contracts.vocabulary import ActorRole, Outcome, ReferralStatus


class NotFound(Exception):
    """No such referral in the caller's scope."""


class Forbidden(Exception):
    """The caller may see the referral but is not its recipient."""


@dataclass(frozen=True)
class Move:
    """A requested move: the new state and what it needs."""

    to: ReferralStatus
    reason: str | None = None
    outcome: Outcome | None = None
    note: str | None = None


@dataclass(frozen=True)
class Moved:
    """The referral after the move; when it was rejected, the referral that carries the concern on (new, or the
    recipient's open one, which took it over)."""

    referral: Referral
    rerouted_to: Referral | None = None


async def move_referral(deps: Deps, principal: Principal, referral_id: str, move: Move) -> Moved:
    """Apply a move in one transaction with its events; raises NotFound, Forbidden or IllegalTransition.

    The concern's referrals are read under the concern's lock, so two moves of one concern decide one after the
    other: a re-route sees the referral another has just opened and takes it over (the unique index of
    routing_0002 backs this: never two open referrals of one concern to one recipient).
    """
    async with deps.unit_of_work() as uow:
        concern = await uow.referrals.lock_concern_of(referral_id)
        before = next((r for r in concern if r.referral_id == referral_id), None)
        if before is None or not scope.may_read(principal, before):
            raise NotFound(referral_id)
        if not scope.may_move(principal, before):
            raise Forbidden("only the referral's recipient or an admin may move it")
        version, document = await uow.rules() if move.to is ReferralStatus.REJECTED else (0, None)
        now = deps.clock.now()
        decision = decide_move(
            before,
            move.to,
            reason=move.reason,
            outcome=move.outcome,
            others=concern,
            document=document,
            rules_version=version,
            now=now,
        )
        after, carried = decision.referral, decision.rerouted_to
        if decision.created:
            await uow.referrals.add([decision.created])
        if decision.merged:
            await uow.referrals.save_merge(decision.merged)
        await uow.referrals.save_move(after)
        await uow.referrals.record_transition(
            after,
            before.status,
            reason=move.reason,
            note=move.note,
            changed_by=principal.client_id,
            changed_by_role=principal.role.value,
            changed_at=now,
            rerouted_to=carried.referral_id if carried else None,
        )
        changed = status_changed_event(
            before,
            after,
            by=ActorRole(principal.role.value),
            at=now,
            reason=move.reason,
            rerouted_to=carried,
            merged=decision.merged is not None,
        )
        envelopes = [
            make_event(
                changed,
                source=deps.source,
                subject=after.subject_key,
                id=ids.event_id(after.referral_id, f"status:{after.transitions}"),
                time=now,
            )
        ]
        if decision.created:
            envelopes.append(created_envelope(decision.created, deps.source))
        await uow.outbox.add(envelopes)
    metrics.TRANSITIONS.labels(after.target.value, before.status.value, after.status.value).inc()
    if carried:
        metrics.REROUTES.labels(before.target.value, carried.target.value).inc()
    if decision.created:
        metrics.referrals_created([decision.created])
    return Moved(after, carried)
