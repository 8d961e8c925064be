"""FastAPI dependencies that read as types: `PrincipalDep`, `require_roles(...)`."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.principal import Principal, Role
from shared.auth.registry import ClientRegistry

bearer = HTTPBearer(auto_error=False, description="An API client's token: `Authorization: Bearer crp_...`")
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def client_registry(request: Request) -> ClientRegistry:
    """The registry the service's lifespan keeps in step with the api-clients topic."""
    return request.app.state.clients


async def current_principal(
    registry: Annotated[ClientRegistry, Depends(client_registry)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller; 401 without a valid token, 503 while the client registry is still loading."""
    if not registry.loaded:
        raise HTTPException(503, "API clients are still loading; try again shortly.", headers={"Retry-After": "2"})
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Missing bearer token.", headers=UNAUTHORIZED)
    principal = registry.authenticate(credentials.credentials)
    if principal is None:
        raise HTTPException(401, "Invalid, revoked or expired token.", headers=UNAUTHORIZED)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role):  # noqa: ANN201 - FastAPI dependency factory
    """A dependency that admits only the given roles (403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(403, f"Role {principal.role.value} may not do this.")
        return principal

    return dependency


def ensure_in_scope(principal: Principal, **scope: str | None) -> None:
    """404 when the object lies outside the caller's scope: its existence is not revealed."""
    if not principal.covers(**scope):
        raise HTTPException(404, "Not found.")
