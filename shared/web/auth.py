"""FastAPI dependencies that read as types: `PrincipalDep`, `require_roles(...)`."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.oidc import OidcVerifier, ProviderUnavailable, TokenRefused, looks_like_jwt
from shared.auth.people import PersonNotAllowed
from shared.auth.principal import Principal, Role
from shared.auth.registry import ClientRegistry

bearer = HTTPBearer(
    auto_error=False,
    description="An API client's token (`Authorization: Bearer crp_...`) or a person's access token (a JWT of the "
    "platform's OpenID Connect provider, where the service is configured for it).",
)
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def client_registry(request: Request) -> ClientRegistry:
    """The registry the service's lifespan keeps in step with the api-clients topic."""
    return request.app.state.clients


def oidc_verifier(request: Request) -> OidcVerifier | None:
    """The verifier of persons' tokens the lifespan made (None: OIDC_ISSUER unset, persons' tokens are off)."""
    return getattr(request.app.state, "oidc", None)


async def current_principal(
    registry: Annotated[ClientRegistry, Depends(client_registry)],
    verifier: Annotated[OidcVerifier | None, Depends(oidc_verifier)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller; 401 without a valid token, 503 while the client registry or the provider's keys cannot be had."""
    if credentials is not None and verifier is not None and looks_like_jwt(credentials.credentials):
        if credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "Missing bearer token.", headers=UNAUTHORIZED)
        return await person_principal(verifier, credentials.credentials)
    if not registry.loaded:
        raise HTTPException(503, "API clients are still loading; try again shortly.", headers={"Retry-After": "2"})
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Missing bearer token.", headers=UNAUTHORIZED)
    principal = registry.authenticate(credentials.credentials)
    if principal is None:
        raise HTTPException(401, "Invalid, revoked or expired token.", headers=UNAUTHORIZED)
    return principal


async def person_principal(verifier: OidcVerifier, token: str) -> Principal:
    """A person's Principal from their access token, or the refusal as HTTP (401, 403, 503 with Retry-After)."""
    try:
        return await verifier.verify(token)
    except TokenRefused as refused:
        raise HTTPException(401, str(refused), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    except PersonNotAllowed as refused:
        raise HTTPException(403, str(refused)) from None
    except ProviderUnavailable as unavailable:
        headers = {"Retry-After": str(unavailable.retry_after)}
        raise HTTPException(503, str(unavailable), headers=headers) from None


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
