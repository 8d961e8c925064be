"""HTTP routes of the intake service (DESIGN.md, "Public HTTP contract"); thin: the handlers do the work."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.intake.domain.access import ConsentConflict
from services.intake.domain.concern import ConcernRefused
from services.intake.domain.guidance import Guidance, guidance_for, hint_guidance_for
from services.intake.domain.receipts import PATTERN, normalise_receipt_code
from services.intake.domain.report import ConcernReport
from services.intake.entrypoints.deps import DepsDep
from services.intake.entrypoints.schemas import (
    AuditView,
    ConcernPage,
    ConcernReceipt,
    ConcernView,
    ConsentAnswer,
    ConsentRegistered,
    ContactView,
    DepartmentView,
    ErasureResult,
)
from services.intake.handlers import lookups, views
from services.intake.handlers.concerns import ConcernConflict, Receipt, accept_concern, erase_concern
from services.intake.handlers.consent import register_consent
from services.intake.handlers.deps import Deps
from services.intake.metrics import CONCERNS_REFUSED
from shared.auth.principal import Principal, Role
from shared.contracts.concern_report import EXTERNAL_ID_PATTERN
from shared.contracts.vocabulary import Category, IntakeChannel
from shared.web.auth import PrincipalDep, require_roles
from shared.web.errors import problem, problem_responses


class RefusalCountingRoute(APIRoute):
    """Counts POST /v1/concerns bodies refused by the schema, by the shared 422 handler's side."""

    def get_route_handler(self):  # noqa: ANN201 - FastAPI's own signature
        original = super().get_route_handler()
        counted = self.path == "/v1/concerns" and "POST" in self.methods

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except RequestValidationError:
                if counted:
                    CONCERNS_REFUSED.labels("http", "invalid_request").inc()
                raise

        return handler


_problems = problem_responses  # refusals are problem+json (shared/web/errors.py)
AUTH = _problems(401, 403, 429, 503)
MAX_PAGE = 100
SYSTEM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # shared/contracts/inbound.py's SystemId
MAX_OFFSET = 100_000
router = APIRouter(prefix="/v1", tags=["intake"], route_class=RefusalCountingRoute, responses=AUTH)


Reporting = Annotated[Principal, Depends(require_roles(Role.REPORTER, Role.CONSULTANT, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (e.g. a UUID): a retry with the same key returns the first answer.",
    ),
]


@router.post(
    "/concerns",
    status_code=201,
    summary="Report a concern about a resident; answers with a receipt and guidance.",
    responses=_problems(409, 413, 422),
)
async def report_concern(
    report: ConcernReport,
    principal: Reporting,
    deps: DepsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ConcernReceipt:
    """Stored durably (with its event) before the answer; a replay of the same request returns the first answer."""
    try:
        receipt = await accept_concern(
            deps, report, channel=IntakeChannel.HTTP, principal=principal, idempotency_key=idempotency_key
        )
    except ConcernRefused as error:
        CONCERNS_REFUSED.labels("http", error.reason).inc()
        errors = [{"field": r.field, "problem": r.problem} for r in error.refusals]
        return problem(422, "Invalid request", str(error), errors=errors)
    except ConcernConflict as error:
        CONCERNS_REFUSED.labels("http", f"{error.reason}_conflict").inc()
        errors = [{"field": error.field, "problem": error.problem}]
        return problem(409, "Conflict", str(error), errors=errors)
    response.headers["Location"] = f"/v1/concerns/{receipt.concern_id}"
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _receipt(deps, receipt)


def _receipt(deps: Deps, receipt: Receipt) -> ConcernReceipt:
    categories = [Category(c) for c in receipt.categories]
    return ConcernReceipt(
        id=receipt.concern_id,
        status="received",
        received_at=receipt.received_at,
        receipt_code=receipt.receipt_code,
        guidance=guidance_for(deps.guidance, categories),
        hints=hint_guidance_for(receipt.hints),
    )


UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
ConcernRef = Annotated[
    str,
    Path(
        pattern=f"^{UUID_PATTERN}$|{PATTERN}",
        description="The concern's id (a UUID) or its receipt code (e.g. `K7WX-3MPQ`; either case, dash optional).",
        examples=["K7WX-3MPQ"],
    ),
]
Listing = Annotated[Principal, Depends(require_roles(Role.REPORTER, Role.CONSULTANT, Role.OPS, Role.ADMIN))]


@router.get(
    "/concerns",
    summary="The caller's concerns, newest first: a reporter's own reports, or a search by external ref.",
    responses=_problems(422),
)
async def list_concerns(
    principal: Listing,
    deps: DepsDep,
    external_ref_system: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=SYSTEM_ID_PATTERN, description="With external_ref_id: the system."),
    ] = None,
    external_ref_id: Annotated[
        str | None,
        Query(
            min_length=1, max_length=128, pattern=EXTERNAL_ID_PATTERN, description="With external_ref_system: its id."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Concerns per page (at most {MAX_PAGE}).")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip (newest first).")] = 0,
) -> ConcernPage:
    """Reporter: its own reports; searching by external ref also its organisation's concerns from its housing
    system. Consultant: its own reports. Ops and admin: every concern. Summaries only, no personal details."""
    if (external_ref_system is None) != (external_ref_id is None):
        missing = "external_ref_id" if external_ref_id is None else "external_ref_system"
        errors = [{"field": f"query.{missing}", "problem": "give external_ref_system and external_ref_id together"}]
        return problem(422, "Invalid request", f"query.{missing}: required with the other external_ref parameter",
                       errors=errors)  # fmt: skip
    external_ref = (external_ref_system, external_ref_id) if external_ref_system and external_ref_id else None
    return await lookups.list_concerns(deps, principal, external_ref=external_ref, limit=limit, offset=offset)


@router.get(
    "/concerns/{concern_id}",
    summary="A concern with its referrals and history, as the caller may see it; by its id or its receipt code.",
    responses=_problems(404, 422),
)
async def get_concern(concern_id: ConcernRef, principal: PrincipalDep, deps: DepsDep) -> ConcernView:
    """Personal details only for a caller whose role, scope and legal basis allow it; each such read is audited.

    By receipt code: ops and admins find any concern; anyone else only the concerns they reported themselves
    (another's code answers 404 like a code nobody has). Failed look-ups by code are counted per client; past
    the limit every look-up by code answers 429 with Retry-After for a while.
    """
    code = normalise_receipt_code(concern_id)
    if code is None:
        view = await views.view_concern(deps, str(uuid.UUID(concern_id)), principal)
    else:
        try:
            view = await lookups.view_by_receipt_code(deps, code, principal)
        except lookups.TooManyGuesses as error:
            detail = f"Too many failed receipt-code look-ups; try again in {error.retry_after} s."
            raise HTTPException(429, detail, headers={"Retry-After": str(error.retry_after)}) from None
    if view is None:
        raise HTTPException(404, "Not found.")
    return view


@router.post(
    "/concerns/{concern_id}/erasure",
    summary="Erase a concern's personal details (admin).",
    responses=_problems(404, 422),
)
async def erase(concern_id: uuid.UUID, principal: Admin, deps: DepsDep) -> ErasureResult:
    """Destroys the concern's data key (crypto-shredding) and emits concern.erased.v1; repeating it is harmless."""
    erased_at = await erase_concern(deps, str(concern_id), principal)
    if erased_at is None:
        raise HTTPException(404, "Not found.")
    return ErasureResult(id=str(concern_id), status="erased", erased_at=erased_at)


Consulting = Annotated[Principal, Depends(require_roles(Role.CONSULTANT, Role.ADMIN))]


@router.post(
    "/concerns/{concern_id}/consent",
    summary="Register the resident's consent (given or refused), asked by the consultant after the report.",
    responses=_problems(404, 409, 422),
)
async def post_consent(
    concern_id: uuid.UUID, answer: ConsentAnswer, principal: Consulting, deps: DepsDep
) -> ConsentRegistered:
    """For the consultant whose departments cover the concern (and admins); 404 outside that scope. Given consent
    lets a referral routed without a legal basis disclose the details from now on; the registration is audited.
    409 when the concern is erased or another answer is on record; the same answer again changes nothing."""
    try:
        done = await register_consent(deps, str(concern_id), answer.consent, principal)
    except ConsentConflict as error:
        return problem(409, "Conflict", str(error), errors=[{"field": "consent", "problem": str(error)}])
    if done is None:
        raise HTTPException(404, "Not found.")
    return ConsentRegistered(
        id=done.concern_id, consent=done.consent, registered_by=done.registered_by, registered_at=done.registered_at
    )


@router.get(
    "/concerns/{concern_id}/reporter-contact",
    summary="How to reach the reporter, for receipts (admin).",
    responses=_problems(404, 422),
)
async def get_reporter_contact(concern_id: uuid.UUID, principal: Admin, deps: DepsDep) -> ContactView:
    """404 when the reporter left no contact or the concern is erased; every answer is audited."""
    contact = await views.reporter_contact(deps, str(concern_id), principal)
    if contact is None:
        raise HTTPException(404, "Not found.")
    return contact


@router.get(
    "/concerns/{concern_id}/audit",
    summary="Who read the concern's personal details, when, why (admin).",
    responses=_problems(404, 422),
)
async def get_audit(concern_id: uuid.UUID, principal: Admin, deps: DepsDep) -> list[AuditView]:
    """The audit trail of one concern, oldest first."""
    entries = await views.audit_entries(deps, str(concern_id))
    if entries is None:
        raise HTTPException(404, "Not found.")
    return [AuditView(client_id=e.client_id, role=e.role, action=e.action, basis=e.basis, at=e.at) for e in entries]


@router.get(
    "/guidance/{category}", summary="Practical handling guidance in Danish for one category.", responses=_problems(422)
)
async def get_guidance(category: Category, principal: PrincipalDep, request: Request) -> Guidance:
    """What to do now, what not to do, when to call 112, how to talk about consent."""
    return request.app.state.intake.guidance[category]


@router.get("/departments", summary="The departments the caller may report on (reference data).")
async def list_departments(principal: PrincipalDep, deps: DepsDep) -> list[DepartmentView]:
    """Each with its id, name, municipality code and number of tenancies."""
    return [
        DepartmentView(
            id=d.id,
            name=d.name,
            organisation_id=d.organisation_id,
            municipality_code=d.municipality_code,
            tenancies=d.tenancies,
        )
        for d in deps.directory.visible_to(principal)
    ]
