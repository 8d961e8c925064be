"""GET /v1/whoami: lets an integrator check which client, role and scope its token carries."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.auth.people import is_person
from shared.web.auth import PrincipalDep
from shared.web.errors import problem_responses

router = APIRouter(tags=["auth"], responses=problem_responses(401, 403, 429, 503))


class WhoAmI(BaseModel):
    """The calling API client or person, as the platform sees it."""

    client_id: str
    kind: str = Field(description="`api_client` for a `crp_` token, `person` for a person's access token.")
    role: str
    organisation_id: str | None
    municipality_code: str | None
    department_ids: list[str]


@router.get("/v1/whoami", summary="The calling client's (or person's) role and scope.")
async def whoami(principal: PrincipalDep) -> WhoAmI:
    """Echo the authenticated client's or person's identity and scope (never the token); a person's client_id
    is `person:<username>`, as their audit records name them."""
    return WhoAmI(
        client_id=principal.client_id,
        kind="person" if is_person(principal) else "api_client",
        role=principal.role.value,
        organisation_id=principal.organisation_id,
        municipality_code=principal.municipality_code,
        department_ids=sorted(principal.department_ids),
    )
