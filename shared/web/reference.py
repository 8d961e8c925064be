"""GET /v1/reference-data: the reference directory this service holds (ops, admin), to compare with the owner's."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from shared.auth.principal import Principal, Role
from shared.contracts.reference import ReferenceDirectory
from shared.reference.holder import ReferenceHolder
from shared.web.auth import require_roles
from shared.web.errors import problem_responses

router = APIRouter(tags=["reference data"], responses=problem_responses(401, 403, 429, 503))


def reference_holder(request: Request) -> ReferenceHolder:
    """The holder the service's lifespan keeps in step with the reference-data topic."""
    return request.app.state.reference


@router.get(
    "/v1/reference-data",
    summary="The reference directory this service holds (followed from intake, its owner).",
)
async def held_reference_data(
    _: Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))],
    holder: Annotated[ReferenceHolder, Depends(reference_holder)],
) -> ReferenceDirectory:
    """The newest snapshot read from the reference-data topic: its `version` and content."""
    if holder.directory is None:
        raise HTTPException(503, "Reference data is still loading; try again shortly.", headers={"Retry-After": "2"})
    return holder.directory
