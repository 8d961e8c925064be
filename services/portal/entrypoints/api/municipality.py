"""The municipality's inbox (/indbakke): the staff desk for a municipality without an IT integration.

Routing scopes the referrals to the person's municipality code (from their token), intake shows personal details
only where the referral's legal basis allows (the page shows what the API returns, never more), and stats gives the
municipality's own response times. A move or a referral of another municipality is a 404 from routing.
"""

from typing import Any

from fastapi.responses import Response

from services.portal.adapters.services_api import ApiError, ServiceUnavailable
from services.portal.domain import staff
from services.portal.entrypoints.api.worklist import Desk, desk_router, list_page
from services.portal.entrypoints.deps import Viewer

INBOX = Desk("/indbakke", ("municipality",), "Indbakke", "inbox.html")


async def response_times(viewer: Viewer) -> dict[str, Any] | None:
    """The municipality's own response times (stats, last 90 days), or None when stats cannot answer now."""
    try:
        answer = await viewer.get("stats", "/v1/stats/response-times", params={"group_by": "municipality"})
    except (ApiError, ServiceUnavailable):
        return None
    own = viewer.person.municipality
    groups = [g for g in answer.get("groups") or [] if g.get("municipality") == own] or answer.get("groups") or []
    return {
        "period": answer.get("period") or {},
        "group": groups[0] if groups else None,
        "comparison": (answer.get("comparison") or {}).get("all"),
        "suppression": answer.get("suppression") or {},
    }


async def inbox_page(viewer: Viewer, show_all: bool, page: int = 1) -> Response:
    """The inbox: the desk's list (page `page`), with the municipality's response times above it."""
    extra = {"times": await response_times(viewer), "hours": staff.hours}
    return await list_page(viewer, INBOX, show_all, extra, page=page)


router = desk_router(INBOX, inbox_page)
"""GET /indbakke, GET /indbakke/{id}, POST /indbakke/{id}/flyt, POST /indbakke/{id}/samtykke."""
