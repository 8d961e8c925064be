"""Moving a referral along its lifecycle; a rejection re-routes it along the fallback chain."""

from dataclasses import dataclass

from services.routing import metrics
from services.routing.adapters import outbox, referral_store
from services.routing.domain import ids
from services.routing.domain.fallback import next_recipient
from services.routing.domain.lifecycle import IllegalTransition, check_transition
from services.routing.domain.referral import Referral, moved, rerouted, status_changed_event
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
    """The referral after the move, and the referral that replaces it when it was rejected."""

    referral: Referral
    rerouted_to: Referral | None = None


async def move_referral(deps: Deps, principal: Principal, referral_id: str, move: Move) -> Moved:
    """Apply a move in one transaction with its events; raises NotFound, Forbidden or IllegalTransition."""
    async with deps.pool.acquire() as conn, conn.transaction():
        before = await referral_store.get(conn, referral_id, for_update=True)
        if before is None or not scope.may_read(principal, before):
            raise NotFound(referral_id)
        if not scope.may_move(principal, before):
            raise Forbidden("only the referral's recipient or an admin may move it")
        check_transition(before.status, move.to, reason=move.reason, outcome=move.outcome)
        now = deps.clock.now()
        after = moved(before, move.to, reason=move.reason, outcome=move.outcome)
        replacement = None
        if move.to is ReferralStatus.REJECTED:
            version, document = await deps.rules.get(conn)
            refused = await referral_store.refused_by(conn, before.concern_id) | {before.recipient_id}
            recipient = next_recipient(
                target=before.target,
                department_id=before.department_id,
                municipality_code=before.municipality_code,
                refused_by=refused,
                document=document,
            )
            if recipient is None:
                raise IllegalTransition(
                    "this referral is the last resort of its fallback chain and cannot be rejected; "
                    "complete it with an outcome (e.g. no_action_needed) or cancel it"
                )
            replacement = rerouted(before, recipient.target, recipient.recipient_id, rules_version=version, now=now)
            await referral_store.insert_many(conn, [replacement])
        await referral_store.save_move(conn, after)
        await referral_store.record_transition(
            conn,
            after,
            before.status,
            reason=move.reason,
            note=move.note,
            changed_by=principal.client_id,
            changed_by_role=principal.role.value,
            changed_at=now,
            rerouted_to=replacement.referral_id if replacement else None,
        )
        changed = status_changed_event(before, after, by=ActorRole(principal.role.value), at=now, reason=move.reason)
        envelopes = [
            make_event(
                changed,
                source=deps.source,
                subject=after.subject_key,
                id=ids.event_id(after.referral_id, f"status:{after.transitions}"),
                time=now,
            )
        ]
        if replacement:
            envelopes.append(created_envelope(replacement, deps.source))
        await outbox.enqueue(conn, deps.referral_topic, envelopes)
    metrics.TRANSITIONS.labels(after.target.value, before.status.value, after.status.value).inc()
    if replacement:
        metrics.REROUTES.labels(before.target.value, replacement.target.value).inc()
        metrics.referrals_created([replacement])
    return Moved(after, replacement)
