"""Subscriptions: a municipality or system registers a URL and event types; the secret is shown once."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from services.notify.adapters.resolver import resolve_target
from services.notify.adapters.secrets import new_signing_secret
from services.notify.adapters.subscriptions import SubscriptionRecord
from services.notify.domain.cursor import encode_cursor
from services.notify.domain.scope import SUBSCRIBER_ROLES
from services.notify.domain.targets import TargetRefused
from services.notify.entrypoints.api.paging import position_after
from services.notify.entrypoints.deps import NotifyParts, PartsDep
from services.notify.entrypoints.schemas import SubscriptionCreated, SubscriptionIn, SubscriptionOut, SubscriptionPage
from shared.auth.people import is_person
from shared.auth.principal import PLATFORM_WIDE, Principal
from shared.web.auth import PrincipalDep, require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], responses=problem_responses(*AUTHENTICATED))
NOT_FOUND = problem_responses(404)

Subscriber = Annotated[Principal, Depends(require_roles(*SUBSCRIBER_ROLES))]


def _url_refused(refused: TargetRefused) -> JSONResponse:
    # Names the field and the rule it broke, never echoes the URL.
    return problem(422, "Invalid request", f"url: {refused}", errors=[{"field": "url", "problem": str(refused)}])


async def _owned(parts: NotifyParts, principal: Principal, subscription_id: uuid.UUID) -> SubscriptionRecord:
    record = await parts.subscriptions.get(str(subscription_id))
    if record is None or (principal.role not in PLATFORM_WIDE and record.client_id != principal.client_id):
        raise HTTPException(404, "Not found.")
    return record


@router.post("", status_code=201, response_model=SubscriptionCreated, summary="Subscribe a URL to referral events.")
async def create_subscription(body: SubscriptionIn, principal: Subscriber, parts: PartsDep) -> object:
    """The events your token's scope covers go to `url`, signed per Standard Webhooks; answers the secret once."""
    if is_person(principal):  # deliveries take the owner's scope from the API-client registry, which has no persons
        raise HTTPException(403, "Webhook subscriptions belong to API clients; a person's token cannot own one.")
    try:
        await resolve_target(body.url, parts.resolver, allow_private=parts.settings.private_targets_allowed)
    except TargetRefused as refused:
        return _url_refused(refused)
    subscription_id = str(uuid.uuid4())
    secret = new_signing_secret()
    record = await parts.subscriptions.create(
        subscription_id=subscription_id,
        client_id=principal.client_id,
        url=body.url,
        event_types=sorted(set(body.event_types)),
        description=body.description,
        secret_ciphertext=parts.secrets.seal(secret, subscription_id),
    )
    return SubscriptionCreated(**SubscriptionOut.of(record).model_dump(), secret=secret)


@router.get("", response_model=SubscriptionPage, summary="Your subscriptions (ops and admin: everyone's).")
async def list_subscriptions(
    principal: PrincipalDep,
    parts: PartsDep,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SubscriptionPage:
    """Oldest first."""
    position = position_after("subscriptions", after)
    owner = None if principal.role in PLATFORM_WIDE else principal.client_id
    rows = await parts.subscriptions.list(owner, after=position, limit=limit)
    next_cursor = encode_cursor("subscriptions", rows[-1][0]) if len(rows) == limit else None
    return SubscriptionPage(items=[SubscriptionOut.of(r) for _, r in rows], next_cursor=next_cursor)


@router.get(
    "/{subscription_id}", response_model=SubscriptionOut, summary="One of your subscriptions.", responses=NOT_FOUND
)
async def get_subscription(subscription_id: uuid.UUID, principal: PrincipalDep, parts: PartsDep) -> SubscriptionOut:
    """404 for a subscription that is not yours."""
    return SubscriptionOut.of(await _owned(parts, principal, subscription_id))


@router.delete("/{subscription_id}", status_code=204, summary="Stop a subscription.", responses=NOT_FOUND)
async def delete_subscription(subscription_id: uuid.UUID, principal: PrincipalDep, parts: PartsDep) -> Response:
    """Nothing more is delivered to it; what is still queued is cancelled."""
    await _owned(parts, principal, subscription_id)
    await parts.subscriptions.delete(str(subscription_id))
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/enable",
    response_model=SubscriptionOut,
    summary="Re-enable a disabled subscription.",
    responses=NOT_FOUND,
)
async def enable_subscription(subscription_id: uuid.UUID, principal: PrincipalDep, parts: PartsDep) -> object:
    """After a 410 or days of failures; the URL is checked again. Dead deliveries can then be redelivered by ops."""
    record = await _owned(parts, principal, subscription_id)
    try:
        await resolve_target(record.url, parts.resolver, allow_private=parts.settings.private_targets_allowed)
    except TargetRefused as refused:
        return _url_refused(refused)
    enabled = await parts.subscriptions.enable(record.id)
    if enabled is None:
        raise HTTPException(404, "Not found.")
    return SubscriptionOut.of(enabled)
