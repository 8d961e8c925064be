"""API clients (admin only, an admin person's token included): list them, create one (its token shown once),
revoke one. The registry is the api-clients topic; intake writes it as its own Kafka principal through the same
path as `crp clients` (shared/auth/admin.py), and audits who made each change.

Privilege: an admin may create a client of any role, admin included. An admin already holds every power the
platform has (the rules, the reference directory, erasure), so a client cannot exceed its creator; the audit
names the person who created each client, and a revoke stops its token everywhere within seconds.
"""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.intake.adapters.client_changes import ClientChange, last_changes, record_change
from services.intake.entrypoints.deps import DepsDep
from shared.auth.admin import ScopeMissing, new_client, publish_record, revoked
from shared.auth.principal import Principal, Role
from shared.auth.registry import ClientRegistry
from shared.contracts.clients import ApiClientRecord
from shared.contracts.events import EntityId, MunicipalityCode
from shared.contracts.text import Line
from shared.contracts.vocabulary import ClientRole
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.web.auth import client_registry, require_roles
from shared.web.errors import AUTHENTICATED, problem, problem_responses

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["API clients"], responses=problem_responses(*AUTHENTICATED))
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
ClientId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
NO_STORE = {"Cache-Control": "no-store"}


class NewClient(BaseModel):
    """A client to create: who it is, its role and the scope the role needs (as `crp clients create`)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: Annotated[Line, Field(min_length=1, max_length=200)]
    """Who the client is, e.g. "Holbæk Kommune, én indgang"."""
    role: ClientRole
    """What the client may do."""
    organisation_id: EntityId | None = None
    """Scope of a reporter: its housing organisation (required for reporter)."""
    municipality_code: MunicipalityCode | None = None
    """Scope of a municipality: its 4-digit code (required for municipality)."""
    department_ids: Annotated[list[EntityId], Field(max_length=500)] = []
    """Scope of consultants and associations (at least one), or departments a reporter is limited to."""
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None
    """Days until the token stops working; none: until revoked."""


class ApiClient(BaseModel):
    """An API client as the registry holds it; never its token or the token's hash."""

    client_id: str
    name: str
    role: str
    organisation_id: str | None
    municipality_code: str | None
    department_ids: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool = Field(description="Whether its token works now: not revoked and not expired.")
    created_by: str | None = Field(description="Who created it here (`person:<username>` or a client id); null "
                                   "when it was created with `crp`.")  # fmt: skip
    revoked_by: str | None = Field(description="Who revoked it here; null when not revoked here.")


class CreatedClient(ApiClient):
    """The new client and its bearer token: shown this once, only its hash is kept."""

    token: str


class ClientList(BaseModel):
    """Every API client, by name."""

    items: list[ApiClient]


def _shown(record: ApiClientRecord, changes: dict[tuple[str, str], ClientChange]) -> dict:
    created, revoked_by = changes.get((record.client_id, "created")), changes.get((record.client_id, "revoked"))
    return {
        "client_id": record.client_id,
        "name": record.name,
        "role": record.role,
        "organisation_id": record.organisation_id,
        "municipality_code": record.municipality_code,
        "department_ids": list(record.department_ids),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "active": record.is_active(),
        "created_by": created.actor if created else None,
        "revoked_by": revoked_by.actor if revoked_by and record.revoked_at else None,
    }


def loaded_registry(registry: Annotated[ClientRegistry, Depends(client_registry)]) -> ClientRegistry:
    """The registry, once it has read the whole topic (a person's token passes before it has)."""
    if not registry.loaded:
        raise HTTPException(503, "API clients are still loading; try again shortly.", headers={"Retry-After": "2"})
    return registry


Registry = Annotated[ClientRegistry, Depends(loaded_registry)]


def runtime(request: Request) -> Runtime:
    """The service's runtime (its producer, as the `intake` Kafka principal)."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def _publish(run: Runtime, record: ApiClientRecord) -> JSONResponse | None:
    """Write the record with intake's producer (retried); a problem response when the broker would not take it."""
    try:
        await publish_record(
            run.settings.kafka_bootstrap_servers, record, topic_prefix=run.settings.topic_prefix, producer=run.producer
        )
    except Exception as error:  # noqa: BLE001 - any broker failure: nothing changed, the caller may try again
        log.warning("api_client_publish_failed", client_id=record.client_id, error=type(error).__name__)
        return problem(
            503, "Service Unavailable", "The change did not reach the broker; try again shortly.",
            headers={"Retry-After": "5"},
        )  # fmt: skip
    return None


@router.get("/clients", summary="Every API client (never a token).")
async def list_clients(_: Admin, deps: DepsDep, registry: Registry) -> ClientList:
    """The registry's clients by name, with who created or revoked each one here."""
    changes = await last_changes(deps.pool)
    return ClientList(items=[ApiClient(**_shown(r, changes)) for r in registry.records()])


@router.post(
    "/clients",
    status_code=201,
    summary="Create an API client; its token is in this answer only.",
    response_model=CreatedClient,
    responses=problem_responses(422),
)
async def create_client(
    principal: Admin, deps: DepsDep, registry: Registry, run: RuntimeDep, body: NewClient, response: Response
) -> CreatedClient | JSONResponse:
    """Validated as `crp clients create` validates (the scope the role needs: 422 naming the field). The change
    is audited under the caller's name before it is published; every service accepts the token within seconds."""
    try:
        issued = new_client(
            name=body.name,
            role=Role(body.role),
            organisation_id=body.organisation_id,
            municipality_code=body.municipality_code,
            department_ids=body.department_ids,
            expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
        )
    except ScopeMissing as missing:
        errors = [{"field": missing.field, "problem": missing.problem}]
        return problem(422, "Invalid request", f"{missing.field}: {missing.problem}", errors=errors)
    record = issued.record
    await record_change(deps.pool, record.client_id, record.role, "created", principal)
    if (refused := await _publish(run, record)) is not None:
        return refused
    registry.apply(record.client_id, record)  # this process knows it at once; the follower applies it again
    log.info("api_client_created", client_id=record.client_id, role=record.role)
    response.headers.update(NO_STORE)
    created = ClientChange(record.client_id, "created", principal.client_id, principal.role.value, record.created_at)
    return CreatedClient(**_shown(record, {(record.client_id, "created"): created}), token=issued.token)


@router.post(
    "/clients/{client_id}/revoke",
    summary="Revoke an API client: its token stops working in every service within seconds.",
    response_model=ApiClient,
    responses=problem_responses(404),
)
async def revoke_client(
    principal: Admin, deps: DepsDep, registry: Registry, run: RuntimeDep, client_id: ClientId
) -> ApiClient | JSONResponse:
    """The client stays on record, revoked. Revoking a revoked client changes nothing."""
    record = registry.get(client_id)
    if record is None:
        raise HTTPException(404, "Not found.")
    if record.revoked_at is None:
        record = revoked(record)
        await record_change(deps.pool, record.client_id, record.role, "revoked", principal)
        if (refused := await _publish(run, record)) is not None:
            return refused
        registry.apply(record.client_id, record)
        log.info("api_client_revoked", client_id=record.client_id, role=record.role)
    return ApiClient(**_shown(record, await last_changes(deps.pool)))
