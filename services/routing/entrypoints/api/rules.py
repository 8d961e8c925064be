"""HTTP routes for the rules document: the version in force (with its ETag), storing a new one, old versions, diffs."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from services.routing.adapters import rules_store
from services.routing.domain import rules_diff
from services.routing.domain.document import RulesDocument
from services.routing.entrypoints.api import simulation
from services.routing.entrypoints.api.rules_input import InvalidRules, invalid, parse_body, validate_document
from services.routing.entrypoints.deps import DepsDep
from services.routing.entrypoints.schemas import RulesDiff, RulesVersion, RulesVersionPage, RulesVersionSummary
from shared.auth.principal import Principal, Role
from shared.web import conditional
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

router = APIRouter(prefix="/v1", tags=["rules"], responses=problem_responses(*AUTHENTICATED))
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Steward = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
"""Admins and ops read the rules: recipients' names and ids are in them, no personal data."""
MAX_VERSION = 2_147_483_647  # the column is a PostgreSQL integer
Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A stored version's number.")]
IfNoneMatch = Annotated[
    str | None,
    Header(max_length=1000, description='An ETag read before, e.g. `"3"`: 304 when the version is still that one.'),
]
IfMatch = Annotated[
    str | None,
    Header(max_length=1000, description='The ETag of the version read, e.g. `"3"`: 412 when another one is in force.'),
]
ETAG = {"ETag": {"description": 'The version, e.g. `"3"`; send it as If-Match to PUT.', "schema": {"type": "string"}}}
TAGGED = {200: {"headers": ETAG}, 304: {"description": "Not modified: the version named by If-None-Match"}}


def _version(row: Any) -> RulesVersion:
    return RulesVersion(
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        document=rules_store.readable(json.loads(row["document"])),
    )


def _tagged(row: Any, response: Response, if_none_match: str | None) -> RulesVersion | Response:
    """The version with its ETag, or 304 when the caller holds it already."""
    tag = conditional.entity_tag(row["version"])
    if conditional.none_match(if_none_match, tag):
        return conditional.not_modified(tag)
    conditional.validated(response, tag)
    return _version(row)


@router.get("/rules", summary="The rules document in force, with its version as ETag.", responses=TAGGED)
async def get_rules(_: Steward, deps: DepsDep, response: Response, if_none_match: IfNoneMatch = None) -> RulesVersion:
    """The version in force; `If-None-Match` with its ETag answers 304 without a body."""
    async with deps.pool.acquire() as conn:
        row = await rules_store.stored(conn)
    if row is None:
        raise HTTPException(503, "No rules stored yet.", headers={"Retry-After": "2"})
    return _tagged(row, response, if_none_match)  # type: ignore[return-value]


@router.put(
    "/rules",
    summary="Store a new version of the rules document (JSON or YAML).",
    responses={**problem_responses(412, 415), 200: {"headers": ETAG}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": RulesDocument.model_json_schema()},
                "application/yaml": {"schema": RulesDocument.model_json_schema()},
            },
        }
    },
)
async def put_rules(
    request: Request, principal: Admin, deps: DepsDep, response: Response, if_match: IfMatch = None
) -> RulesVersion:
    """Validates the whole document; stores it as version N+1; `If-Match` with the ETag read prevents lost updates."""
    try:
        document = validate_document(await parse_body(request))
    except InvalidRules as error:
        return invalid(error)  # type: ignore[return-value]
    async with deps.pool.acquire() as conn, conn.transaction():
        current = await rules_store.current_version(conn)
        if conditional.match_fails(if_match, conditional.entity_tag(current) if current else None):
            tag = conditional.entity_tag(current)
            return problem(  # type: ignore[return-value]
                412,
                "Precondition Failed",
                "The rules changed since you read them; read them again.",
                headers={"ETag": tag},
            )
        version = await rules_store.store(conn, document, created_by=principal.client_id)
        row = await rules_store.stored(conn, version)
    conditional.validated(response, conditional.entity_tag(version))
    return _version(row)


@router.get("/rules/versions", summary="The stored versions of the rules document, newest first.")
async def list_versions(
    _: Steward,
    deps: DepsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="Versions older than this one.")] = None,
) -> RulesVersionPage:
    """Each version's number, when and by whom it was stored, its name and description; pages by `before`."""
    async with deps.pool.acquire() as conn:
        rows = await rules_store.versions(conn, before=before, limit=limit + 1)
    items = [RulesVersionSummary(**dict(row)) for row in rows[:limit]]
    return RulesVersionPage(items=items, next_before=items[-1].version if len(rows) > limit else None)


@router.get(
    "/rules/versions/{version}",
    summary="One stored version of the rules document, with its version as ETag.",
    responses={**problem_responses(404), **TAGGED},
)
async def get_version(
    version: Version, _: Steward, deps: DepsDep, response: Response, if_none_match: IfNoneMatch = None
) -> RulesVersion:
    """The whole document as it was stored; 404 when there is no such version."""
    async with deps.pool.acquire() as conn:
        row = await rules_store.stored(conn, version)
    if row is None:
        raise HTTPException(404, "No such version.")
    return _tagged(row, response, if_none_match)  # type: ignore[return-value]


@router.get(
    "/rules/versions/{version}/diff",
    summary="What changed in a version: rules added, removed and changed (with the fields), and a YAML diff.",
    responses=problem_responses(404),
)
async def diff_version(
    version: Version,
    _: Steward,
    deps: DepsDep,
    against: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="The version to compare with (default: the one before).")
    ] = None,
) -> RulesDiff:
    """From `against` (default `version` - 1; none for version 1) to `version`; 404 when `version` is unknown."""
    base = against if against is not None else (version - 1 or None)
    async with deps.pool.acquire() as conn:
        row = await rules_store.stored(conn, version)
        old = await rules_store.stored(conn, base) if base is not None else None
    if row is None:
        raise HTTPException(404, "No such version.")
    if base is not None and old is None:
        return problem(  # type: ignore[return-value]
            422,
            "Invalid request",
            "against: no such version",
            errors=[{"field": "against", "problem": "no such version"}],
        )
    after = json.loads(row["document"])
    before = json.loads(old["document"]) if old is not None else {}
    changes = rules_diff.document_diff(rules_store.readable(before), rules_store.readable(after))
    text = rules_diff.unified(
        rules_store.readable(before, compact=True) if old is not None else None,
        rules_store.readable(after, compact=True),
        before_name=f"version {base}" if base is not None else "(none)",
        after_name=f"version {version}",
    )
    return RulesDiff(
        version=version,
        against=base,
        rules=changes.rules,
        sections=changes.sections,
        fields=changes.fields,
        unified=text,
    )


router.include_router(simulation.router)
