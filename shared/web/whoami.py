"""GET /v1/whoami: lets an integrator check which client, role and scope its token carries."""

from fastapi import APIRouter
from pydantic import BaseModel

from shared.web.auth import PrincipalDep
from shared.web.errors import problem_responses

router = APIRouter(tags=["auth"], responses=problem_responses(401, 429, 503))


class WhoAmI(BaseModel):
    """The calling API client, as the platform sees it."""

    client_id: str
    role: str
    organisation_id: str | None
    municipality_code: str | None
    department_ids: list[str]


@router.get("/v1/whoami", summary="The calling client's role and scope.")
async def whoami(principal: PrincipalDep) -> WhoAmI:
    """Echo the authenticated client's identity and scope (never its token)."""
    return WhoAmI(
        client_id=principal.client_id,
        role=principal.role.value,
        organisation_id=principal.organisation_id,
        municipality_code=principal.municipality_code,
        department_ids=sorted(principal.department_ids),
    )
