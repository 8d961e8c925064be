"""HTTP routes for the rules document: read the version in force, store a new one, simulate."""

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.routing.adapters import rules_store
from services.routing.domain import clock
from services.routing.domain.document import RulesDocument
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.repeats import REPEAT_THRESHOLD
from services.routing.domain.routing import Unroutable, decide, fired_rules
from services.routing.entrypoints.api import DepsDep
from services.routing.entrypoints.views import RulesVersion, SimulatedReferral, SimulationRequest, SimulationResult
from shared.auth.principal import Principal, Role
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

router = APIRouter(prefix="/v1", tags=["rules"], responses=problem_responses(*AUTHENTICATED))
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Steward = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class InvalidRules(Exception):
    """The rules document does not parse or does not validate."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("invalid rules document")
        self.errors = errors


def validate_document(value: Any, *, prefix: str = "") -> RulesDocument:
    """A RulesDocument, or InvalidRules naming each field and its problem (never echoing values)."""
    try:
        return RulesDocument.model_validate(value)
    except ValidationError as error:
        errors = [
            {"field": ".".join(str(p) for p in (prefix, *e["loc"]) if p != "") or "body", "problem": e["msg"]}
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise InvalidRules(errors) from None


def invalid(error: InvalidRules) -> JSONResponse:
    """422 problem+json listing the invalid fields."""
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in error.errors[:10])
    return problem(422, "Invalid rules document", detail, errors=error.errors)


async def _parse_body(request: Request) -> Any:
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if content_type in YAML_TYPES:
            return yaml.safe_load(raw)
        if content_type == "application/json":
            return json.loads(raw)
    except (yaml.YAMLError, ValueError, UnicodeDecodeError):
        raise InvalidRules([{"field": "body", "problem": f"not valid {content_type}"}]) from None
    raise HTTPException(415, "Send the rules document as application/json or application/yaml.")


@router.get("/rules", summary="The rules document in force, with its version.")
async def get_rules(_: Steward, deps: DepsDep) -> RulesVersion:
    """Admins and ops read the rules; recipients' names and ids are in it, no personal data."""
    async with deps.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM rules_versions ORDER BY version DESC LIMIT 1")
    if row is None:
        raise HTTPException(503, "No rules stored yet.")
    return RulesVersion(
        version=row["version"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        document=json.loads(row["document"]),
    )


@router.put(
    "/rules",
    summary="Store a new version of the rules document (JSON or YAML).",
    responses=problem_responses(412, 415),
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
async def put_rules(request: Request, principal: Admin, deps: DepsDep) -> RulesVersion:
    """Validates the whole document; stores it as version N+1; `If-Match: "N"` guards against lost updates."""
    try:
        document = validate_document(await _parse_body(request))
    except InvalidRules as error:
        return invalid(error)  # type: ignore[return-value]
    expected = request.headers.get("if-match", "").strip('"W/ ')
    async with deps.pool.acquire() as conn, conn.transaction():
        if expected and str(await rules_store.current_version(conn)) != expected:
            raise HTTPException(412, "The rules changed since you read them; read them again.")
        version = await rules_store.store(conn, document, created_by=principal.client_id)
        row = await conn.fetchrow("SELECT created_at FROM rules_versions WHERE version = $1", version)
    return RulesVersion(
        version=version,
        created_at=row["created_at"],
        created_by=principal.client_id,
        document=json.loads(rules_store.as_json(document)),
    )


@router.post("/rules/simulate", summary="What would happen to a concern, and which rules fire; no side effects.")
async def simulate(body: SimulationRequest, _: Steward, deps: DepsDep) -> SimulationResult:
    """Routes the concern with the rules in force (or the draft in `rules`) without storing or sending anything."""
    version: int | None = None
    if body.rules is not None:
        try:
            document = validate_document(body.rules, prefix="rules")
        except InvalidRules as error:
            return invalid(error)  # type: ignore[return-value]
    else:
        async with deps.pool.acquire() as conn:
            version, document = await deps.rules.get(conn)
    concern = body.concern
    now = concern.reported_at or deps.clock.now()
    facts = ConcernFacts(
        concern_id="simulation",
        organisation_id="simulation",
        department_id=concern.department_id,
        municipality_code=concern.municipality_code,
        subject_key="simulation",
        categories=frozenset(concern.categories),
        severity=concern.severity,
        consent=concern.consent,
        legal_basis=concern.legal_basis,
        reported_at=now,
        repeated=concern.prior_concerns_90d + 1 >= REPEAT_THRESHOLD,
    )
    try:
        plans = decide(facts, document)
    except Unroutable as error:
        raise HTTPException(422, f"The rules name no recipient for this concern: {error.reason}.") from None
    severity = facts.effective_severity
    referrals = [
        SimulatedReferral(
            **{k: getattr(p, k) for k in SimulatedReferral.model_fields if hasattr(p, k)},
            ack_due_at=clock.ack_due_at(now, severity, urgent=p.urgent),
            escalate_at=clock.escalate_at(now, severity, urgent=p.urgent),
        )
        for p in plans
    ]
    return SimulationResult(
        rules_version=version,
        repeated=facts.repeated,
        severity=severity,
        fired_rules=[rule.id for rule in fired_rules(facts, document)],
        referrals=referrals,
    )
