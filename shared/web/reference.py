"""GET /v1/reference-data: the reference directory this service holds (ops, admin), to compare with the owner's."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

from shared.auth.principal import Principal, Role
from shared.contracts.reference import ReferenceDirectory
from shared.reference.holder import ReferenceHolder
from shared.web import conditional
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem_responses

router = APIRouter(tags=["reference data"], responses=problem_responses(*AUTHENTICATED))


def reference_holder(request: Request) -> ReferenceHolder:
    """The holder the service's lifespan keeps in step with the reference-data topic."""
    return request.app.state.reference


ETAG_HEADER = {"ETag": {"description": "The directory's `version`, quoted", "schema": {"type": "string"}}}
TAGGED = {200: {"headers": ETAG_HEADER}, 304: {"description": "Not modified: If-None-Match names this version"}}
IfNoneMatch = Annotated[str | None, Header(max_length=1000, description="An ETag read before: 304 while it holds.")]


def tagged(
    directory: ReferenceDirectory, response: Response, if_none_match: str | None
) -> ReferenceDirectory | Response:
    """The directory with its version as ETag, or 304 when the caller holds that version already."""
    tag = conditional.entity_tag(directory.version)
    if conditional.none_match(if_none_match, tag):
        return conditional.not_modified(tag)
    conditional.validated(response, tag)
    return directory


@router.get(
    "/v1/reference-data",
    summary="The reference directory this service holds (followed from intake, its owner).",
    responses=TAGGED,
)
async def held_reference_data(
    _: Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))],
    holder: Annotated[ReferenceHolder, Depends(reference_holder)],
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> ReferenceDirectory:
    """The newest snapshot read from the reference-data topic: its `version` and content (ETag: the version)."""
    if holder.directory is None:
        raise HTTPException(503, "Reference data is still loading; try again shortly.", headers={"Retry-After": "2"})
    return tagged(holder.directory, response, if_none_match)  # type: ignore[return-value]
