"""HTTP routes for referrals (DESIGN.md, "Public HTTP contract"): list, read, move."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response

from services.routing.adapters import referral_query, referral_store, suggestion_store
from services.routing.domain.lifecycle import IllegalTransition, InvalidMove
from services.routing.domain.suggestions import SuggestionStatus
from services.routing.entrypoints.deps import DepsDep
from services.routing.entrypoints.schemas import (
    ReferralPage,
    ReferralView,
    SuggestionDecisionRequest,
    SuggestionDecisionResult,
    SuggestionPage,
    SuggestionView,
    TransitionRequest,
    TransitionResult,
)
from services.routing.handlers import scope, suggestions
from services.routing.handlers.transitions import Forbidden, Move, NotFound, move_referral
from shared.auth.principal import PLATFORM_WIDE, Principal, Role
from shared.contracts.events import ENTITY_ID_PATTERN
from shared.contracts.vocabulary import ReferralStatus, ReferralTarget
from shared.web import conditional
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

router = APIRouter(prefix="/v1", tags=["referrals"], responses=problem_responses(*AUTHENTICATED))
Reader = Annotated[Principal, Depends(require_roles(*scope.READERS))]
MAX_OFFSET = 100_000
"""The deepest page a list reaches by offset (as intake's): beyond it, narrow the filters."""
ReferralId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.get("/referrals", summary="Referrals in the caller's scope, newest first.")
async def list_referrals(
    principal: Reader,
    deps: DepsDep,
    status: ReferralStatus | None = None,
    municipality: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    department: Annotated[str | None, Query(min_length=1, max_length=128, pattern=ENTITY_ID_PATTERN)] = None,
    concern_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=ENTITY_ID_PATTERN)] = None,
    target: ReferralTarget | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"How many to skip (at most {MAX_OFFSET}).")] = 0,
) -> ReferralPage:
    """A municipality sees its municipality's referrals, a consultant or association its departments'."""
    wanted = referral_query.ReferralFilter(status, municipality, department, concern_id, target, overdue)
    now = deps.clock.now()
    async with deps.pool.acquire() as conn:
        found = await referral_query.page(
            conn, scope.sql_filter(principal, 1), wanted, now=now, limit=limit + 1, offset=offset
        )
        histories = await referral_query.histories(conn, [r.referral_id for r in found[:limit]])
    items = [ReferralView.of(r, now=now, history=histories[r.referral_id]) for r in found[:limit]]
    return ReferralPage(items=items, next_offset=offset + limit if len(found) > limit else None)


@router.get(
    "/referrals/{referral_id}",
    summary="One referral with its history.",
    responses={
        **problem_responses(404),
        200: {"headers": {"ETag": {"description": "A digest of the answer (weak)", "schema": {"type": "string"}}}},
        304: {"description": "Not modified: the answer is still the one If-None-Match names"},
    },
)
async def get_referral(
    referral_id: ReferralId,
    principal: Reader,
    deps: DepsDep,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=1000, description="An ETag read before.")] = None,
) -> ReferralView:
    """404 when it does not exist or lies outside the caller's scope; 304 when If-None-Match names the answer."""
    async with deps.pool.acquire() as conn:
        referral = await referral_store.get(conn, referral_id)
        if referral is None or not scope.may_read(principal, referral):
            raise HTTPException(404, "Not found.")
        history = await referral_store.history(conn, referral_id)
        suggested = []
        if referral.target is ReferralTarget.CONSULTANT:  # the consultant decides what the hints suggest
            suggested = (await suggestion_store.of_concerns(conn, [referral.concern_id]))[referral.concern_id]
    view = ReferralView.of(referral, now=deps.clock.now(), history=history, suggestions=suggested)
    tag = conditional.content_tag(view.model_dump_json().encode())
    if conditional.none_match(if_none_match, tag):
        return conditional.not_modified(tag)  # type: ignore[return-value]
    conditional.validated(response, tag)
    return view


@router.post(
    "/referrals/{referral_id}/transitions",
    summary="Move a referral along its lifecycle.",
    responses=problem_responses(404, 409),
)
async def transition(
    referral_id: ReferralId, body: TransitionRequest, principal: Reader, deps: DepsDep
) -> TransitionResult:
    """Only the recipient or an admin may move it; a rejection re-routes it along the fallback chain.

    409: the move is illegal from the referral's state; 422: a missing or bad `reason` or `outcome`.
    """
    try:
        moved = await move_referral(deps, principal, referral_id, Move(body.to, body.reason, body.outcome, body.note))
    except NotFound:
        raise HTTPException(404, "Not found.") from None
    except Forbidden as error:
        raise HTTPException(403, str(error)) from None
    except InvalidMove as error:
        detail = f"{error.field}: {error.problem}"
        errors = [{"field": error.field, "problem": error.problem}]
        return problem(422, "Invalid request", detail, errors=errors)  # type: ignore[return-value]
    except IllegalTransition as error:
        raise HTTPException(409, str(error)) from None
    now = deps.clock.now()
    answered = [r for r in (moved.referral, moved.rerouted_to) if r is not None]
    async with deps.pool.acquire() as conn:
        histories = await referral_query.histories(conn, [r.referral_id for r in answered])
    referral, *rerouted = (ReferralView.of(r, now=now, history=histories[r.referral_id]) for r in answered)
    return TransitionResult(referral=referral, rerouted_to=rerouted[0] if rerouted else None)


Consultant = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS, Role.CONSULTANT))]
SuggestionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.get("/suggestions", summary="Recipients the concerns' hints suggest, for the consultant to decide.")
async def list_suggestions(
    principal: Consultant,
    deps: DepsDep,
    concern_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=ENTITY_ID_PATTERN)] = None,
    status: SuggestionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"How many to skip (at most {MAX_OFFSET}).")] = 0,
) -> SuggestionPage:
    """A consultant sees its departments' suggestions; admins and ops every one. Newest first."""
    departments = None if principal.role in PLATFORM_WIDE else sorted(principal.department_ids)
    async with deps.pool.acquire() as conn:
        found = await suggestion_store.page(
            conn, departments, concern_id=concern_id, status=status, limit=limit + 1, offset=offset
        )
    items = [SuggestionView.of(s) for s in found[:limit]]
    return SuggestionPage(items=items, next_offset=offset + limit if len(found) > limit else None)


@router.post(
    "/suggestions/{suggestion_id}/decision",
    summary="Confirm or dismiss a suggestion (once).",
    responses=problem_responses(403, 404, 409),
)
async def decide_suggestion(
    suggestion_id: SuggestionId, body: SuggestionDecisionRequest, principal: Consultant, deps: DepsDep
) -> SuggestionDecisionResult:
    """The department's consultant or an admin decides; confirm refers the concern to the suggested recipient
    (or the recipient's open referral of it takes the suggestion over). 409: decided before."""
    try:
        decided = await suggestions.decide(deps, principal, suggestion_id, body.decision, body.reason)
    except NotFound:
        raise HTTPException(404, "Not found.") from None
    except Forbidden as error:
        raise HTTPException(403, str(error)) from None
    except IllegalTransition as error:
        raise HTTPException(409, str(error)) from None
    referral = None
    if decided.referral is not None:
        async with deps.pool.acquire() as conn:
            history = await referral_store.history(conn, decided.referral.referral_id)
        referral = ReferralView.of(decided.referral, now=deps.clock.now(), history=history)
    return SuggestionDecisionResult(suggestion=SuggestionView.of(decided.suggestion), referral=referral)
