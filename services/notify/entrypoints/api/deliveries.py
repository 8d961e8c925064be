"""Ops' view of deliveries: list by state, and redeliver one (from the dead-letter state, or again)."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from services.notify.domain.cursor import encode_cursor
from services.notify.entrypoints.api.paging import position_after
from services.notify.entrypoints.deps import PartsDep
from services.notify.entrypoints.schemas import DeliveryOut, DeliveryPage, DeliveryState
from shared.auth.principal import Principal, Role
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem_responses

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], responses=problem_responses(*AUTHENTICATED))
Ops = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))]


@router.get("", response_model=DeliveryPage, summary="Deliveries, filtered by state (ops).")
async def list_deliveries(
    _: Ops,
    parts: PartsDep,
    state: DeliveryState | None = None,
    subscription_id: uuid.UUID | None = None,
    channel: Literal["webhook", "email"] | None = None,
    concern_id: Annotated[
        uuid.UUID | None, Query(description="Only this concern's deliveries (support finds a reporter's receipts).")
    ] = None,
    after: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """`state=dead` lists the dead-letter state: deliveries notify gave up on."""
    position = position_after("deliveries", after)
    rows = await parts.deliveries.list(
        state=state,
        subscription_id=str(subscription_id) if subscription_id else None,
        channel=channel,
        after=position,
        limit=limit,
        concern_id=str(concern_id) if concern_id else None,
    )
    next_cursor = encode_cursor("deliveries", rows[-1]["seq"]) if len(rows) == limit else None
    return DeliveryPage(items=[DeliveryOut(**row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Deliver again (ops).",
    responses=problem_responses(404, 409),
)
async def redeliver(delivery_id: uuid.UUID, _: Ops, parts: PartsDep) -> DeliveryOut:
    """Queue the delivery again now, with a fresh retry window; its webhook-id stays the same."""
    current = await parts.deliveries.get(str(delivery_id))
    if current is None:
        raise HTTPException(404, "Not found.")
    if current["state"] == "pending":
        raise HTTPException(409, "The delivery is still pending; it is retried on its own.")
    if current["channel"] == "webhook" and current["subscription_state"] == "deleted":
        raise HTTPException(409, "Its subscription was deleted.")
    if current["channel"] == "webhook" and current["subscription_state"] != "active":
        raise HTTPException(409, "Its subscription is disabled; enable it first (POST /v1/subscriptions/{id}/enable).")
    row = await parts.deliveries.redeliver(str(delivery_id))
    if row is None:
        raise HTTPException(409, "The delivery is still pending; it is retried on its own.")
    parts.wake_workers()
    return DeliveryOut(**row)
