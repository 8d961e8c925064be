"""The feed: the same events as the webhooks, for subscribers that pull instead."""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.notify.adapters.feed import read_feed
from services.notify.domain.cursor import encode_cursor
from services.notify.domain.scope import FEED_ROLES, EventScope, SubscriberScope, feed_filter, matches
from services.notify.entrypoints.api.paging import position_after
from services.notify.entrypoints.deps import PartsDep
from services.notify.entrypoints.schemas import FeedItem, FeedPage, ReferralEventType
from shared.auth.principal import Principal
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem_responses

router = APIRouter(prefix="/v1/feed", tags=["feed"], responses=problem_responses(*AUTHENTICATED))
Reader = Annotated[Principal, Depends(require_roles(*FEED_ROLES))]


@router.get("", response_model=FeedPage, summary="Your referral events in order, after a cursor.")
async def feed(
    principal: Reader,
    parts: PartsDep,
    after: Annotated[
        str | None, Query(description="`next_cursor` of the previous page; omit to start at the beginning.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    event_types: Annotated[list[ReferralEventType] | None, Query(description="Only these types.")] = None,
) -> FeedPage:
    """The events the caller's scope covers: a municipality its own municipality's referrals, and so on."""
    position = position_after("feed", after)
    scope = SubscriberScope(principal.role, principal.municipality_code, principal.department_ids)
    rows = await read_feed(
        parts.pool,
        feed_filter(scope),
        after=position,
        limit=min(limit, parts.settings.feed_page_max),
        event_types=list(event_types) if event_types else None,
    )
    items = []
    for row in rows:
        where = EventScope(row["event_type"], row["target"], row["municipality_code"], row["department_id"])
        if not matches(scope, where):  # the filter above already did this; a second check costs nothing
            continue
        body = json.loads(row["body"])
        items.append(
            FeedItem(
                cursor=encode_cursor("feed", row["seq"]),
                id=row["event_id"],
                type=row["event_type"],
                time=row["time"],
                data=body["data"],
            )
        )
    next_position = rows[-1]["seq"] if rows else position
    return FeedPage(items=items, next_cursor=encode_cursor("feed", next_position))
