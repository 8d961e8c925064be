"""The reference directory intake owns: read it (admin, ops), change it (admin); a change reaches every service."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from services.intake.adapters import reference_data
from services.intake.adapters.reference_data import InvalidReferenceData, build_directory
from services.intake.entrypoints.deps import DepsDep, OwnerDep
from services.intake.handlers.reference import change_directory
from shared.auth.principal import Principal, Role
from shared.contracts.reference import ReferenceContent, ReferenceDirectory
from shared.logging import get_logger
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses
from shared.web.reference import TAGGED, IfNoneMatch, tagged

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["reference data"], responses=problem_responses(*AUTHENTICATED))


Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("/reference-data", summary="The reference directory (the one source; others follow it).", responses=TAGGED)
async def get_reference_data(
    _: Reader, deps: DepsDep, response: Response, if_none_match: IfNoneMatch = None
) -> ReferenceDirectory:
    """The stored directory with its `version` (also its ETag), as published on the reference-data topic."""
    async with deps.pool.acquire() as conn:
        found = await reference_data.stored_directory(conn)
    assert found is not None  # the directory is loaded (DepsDep), so it is stored
    return tagged(found[0], response, if_none_match)  # type: ignore[return-value]


@router.put(
    "/reference-data",
    summary="Replace the reference directory: stored, then published to routing, notify and stats.",
    response_model=ReferenceDirectory,
    responses=problem_responses(422),
)
async def put_reference_data(
    principal: Admin, deps: DepsDep, owner: OwnerDep, body: ReferenceContent
) -> ReferenceDirectory | JSONResponse:
    """Validated like the reference file (unknown municipality code, unnamed recipient, duplicate id: 422).

    Municipality names always come from the official list. The change is stored before it is published; a
    publish that fails is retried until the broker has it.
    """
    try:
        directory = build_directory(body.model_dump(mode="json"), owner.official_municipalities)
    except InvalidReferenceData as error:
        errors = [{"field": field, "problem": text} for field, text in error.problems]
        return problem(422, "Invalid request", str(error)[:2000], errors=errors)
    await change_directory(deps, directory, changed_by=principal.client_id)
    try:
        await owner.keeper.sync()
    except Exception as error:  # noqa: BLE001 - stored already; the keeper retries the publish
        log.warning("reference_data_publish_deferred", error=type(error).__name__)
        owner.keeper.wake()
    return directory
