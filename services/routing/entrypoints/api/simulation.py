"""POST /v1/rules/simulate: what routing would do with a concern reported to intake; stores and sends nothing."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from services.routing.adapters import rules_store
from services.routing.adapters.directory import with_directory
from services.routing.domain.document import RulesDocument
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.referral import due_times
from services.routing.domain.repeats import REPEAT_THRESHOLD
from services.routing.domain.routing import Unroutable, decide, fired_rules
from services.routing.entrypoints.api.rules_input import InvalidRules, invalid, validate_document
from services.routing.entrypoints.deps import DepsDep
from services.routing.entrypoints.schemas import SimulatedReferral, SimulationRequest, SimulationResult
from services.routing.handlers.deps import Deps
from shared.auth.principal import Principal, Role
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.vocabulary import Category, Consent, LegalBasis, Severity
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

router = APIRouter(tags=["rules"], responses=problem_responses(*AUTHENTICATED))
"""Included by the rules router (under /v1)."""
Steward = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]


class Refused(Exception):
    """A field of the simulation request is wrong; answered as a 422 naming it."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Asked:
    """The concern's facts as the request gives them, whichever shape it used, and where each came from."""

    prefix: str
    department_id: str
    categories: list[Category]
    severity: Severity
    consent: Consent
    legal_basis: LegalBasis | None
    expected_municipality: tuple[str, str] | None
    """(field, code) when the caller named a municipality."""
    prior_concerns_90d: int
    reported_at: datetime | None


def asked(body: SimulationRequest) -> Asked:
    """The facts from intake's body (`concern`) or from the old facts-only shape (`facts`)."""
    if (body.concern is None) == (body.facts is None):
        raise Refused("concern", "give the concern as reported to intake (or, deprecated, its facts), once")
    if body.rules_version is not None and body.rules is not None:
        raise Refused("rules_version", "give a stored version or a draft document, not both")
    expected = ("municipality_code", body.municipality_code) if body.municipality_code else None
    if body.concern is not None:
        concern = body.concern
        basis = LegalBasis(concern.legal_basis) if concern.legal_basis else None
        return Asked(
            "concern",
            concern.department_id,
            list(concern.categories),
            concern.severity,
            concern.consent,
            basis,
            expected,
            body.prior_concerns_90d,
            body.reported_at,
        )
    facts = body.facts
    assert facts is not None
    if expected and expected[1] != facts.municipality_code:
        raise Refused("municipality_code", "differs from facts.municipality_code")
    return Asked(
        "facts",
        facts.department_id,
        facts.categories,
        facts.severity,
        facts.consent,
        facts.legal_basis,
        ("facts.municipality_code", facts.municipality_code),
        max(facts.prior_concerns_90d, body.prior_concerns_90d),
        body.reported_at or facts.reported_at,
    )


def place(directory: ReferenceDirectory, what: Asked) -> tuple[str, str]:
    """(organisation, municipality) of the department, from the reference directory; Refused on a mismatch."""
    found = next(((o, d) for o, d in directory.departments() if d.id == what.department_id), None)
    if found is None:
        raise Refused(f"{what.prefix}.department_id", "unknown department")
    organisation_id, department = found
    if what.expected_municipality and what.expected_municipality[1] != department.municipality_code:
        field, code = what.expected_municipality
        raise Refused(field, f"the department lies in municipality {department.municipality_code}, not {code}")
    return organisation_id, department.municipality_code


def reference_directory(request: Request) -> ReferenceDirectory:
    """The directory routing follows from the reference-data topic; 503 until the first snapshot."""
    holder = getattr(request.app.state, "reference", None)
    directory = holder.directory if holder is not None else None
    if directory is None:
        raise HTTPException(503, "Reference data is still loading; try again shortly.", headers={"Retry-After": "2"})
    return directory


async def rules_for(
    deps: Deps, body: SimulationRequest, directory: ReferenceDirectory
) -> tuple[int | None, RulesDocument]:
    """The document to simulate with: the draft, the stored version asked for, or the one in force.

    Like the one in force, a draft or an older version routes to the recipients of the reference directory.
    """
    if body.rules is not None:
        return None, with_directory(validate_document(body.rules, prefix="rules"), directory)
    async with deps.pool.acquire() as conn:
        if body.rules_version is None:
            return await deps.rules.get(conn)
        row = await rules_store.stored(conn, body.rules_version)
    if row is None:
        raise Refused("rules_version", "no such version")
    try:
        stored = validate_document(json.loads(row["document"]))
    except InvalidRules:
        raise Refused("rules_version", "this version no longer validates; simulate a draft instead") from None
    return row["version"], with_directory(stored, directory)


@router.post(
    "/rules/simulate",
    summary="What would happen to a concern (intake's POST /v1/concerns body), and which rules fire; no side effects.",
)
async def simulate(body: SimulationRequest, _: Steward, request: Request, deps: DepsDep) -> SimulationResult:
    """Admins and ops route a concern with the rules in force, a stored version or a draft; nothing is stored or sent.

    The municipality is the department's, from the reference directory; a `municipality_code` that is not the
    department's is a 422 naming it.
    """
    try:
        what = asked(body)
        directory = reference_directory(request)
        organisation_id, municipality_code = place(directory, what)
        version, document = await rules_for(deps, body, directory)
    except Refused as error:
        return _refused(error)  # type: ignore[return-value]
    except InvalidRules as error:
        return invalid(error)  # type: ignore[return-value]
    now = what.reported_at or deps.clock.now()
    facts = ConcernFacts(
        concern_id="simulation",
        organisation_id=organisation_id,
        department_id=what.department_id,
        municipality_code=municipality_code,
        subject_key="simulation",
        categories=frozenset(what.categories),
        severity=what.severity,
        consent=what.consent,
        legal_basis=what.legal_basis,
        reported_at=now,
        repeated=what.prior_concerns_90d + 1 >= REPEAT_THRESHOLD,
        hints=frozenset(body.hints),
        children_in_household=body.concern.children_in_household if body.concern else None,
        danger_confirmed=bool(body.concern and body.concern.danger_confirmed),
    )
    try:
        plans = decide(facts, document)
    except Unroutable as error:
        field = f"{what.prefix}.department_id" if error.reason == "unknown_department" else "rules"
        refused = Refused(field, f"the rules name no recipient for this concern: {error.reason}")
        return _refused(refused)  # type: ignore[return-value]
    severity = facts.effective_severity
    return SimulationResult(
        rules_version=version,
        department_id=what.department_id,
        municipality_code=municipality_code,
        repeated=facts.repeated,
        severity=severity,
        fired_rules=[rule.id for rule in fired_rules(facts, document)],
        referrals=[
            SimulatedReferral(
                **SimulatedReferral.domain_values(p),
                **due_times(p, severity, now),  # an underretning's clock too, as the referral would get it
            )
            for p in plans
        ],
    )


def _refused(error: Refused) -> JSONResponse:
    errors = [{"field": error.field, "problem": error.problem}]
    return problem(422, "Invalid request", f"{error.field}: {error.problem}", errors=errors)
