"""A person's access token against a real local HTTP server publishing discovery and JWKS: a valid one gives the
person's Principal, every forgery, mismatch or expiry is refused, unknown kids refetch at most once per interval,
and the HTTP edge answers 401/403/503 as it should while `crp_` tokens go on as before."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import APIRouter, Depends
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from services.notify.entrypoints.api import subscriptions
from services.notify.entrypoints.deps import notify_parts
from shared.auth.admin import new_client
from shared.auth.oidc import OidcVerifier, ProviderUnavailable, TokenRefused, looks_like_jwt
from shared.auth.people import PersonNotAllowed
from shared.auth.principal import Principal, Role
from shared.auth.registry import ClientRegistry
from shared.web.app import create_app
from shared.web.auth import require_roles
from shared.web.whoami import router as whoami

pytestmark = pytest.mark.unit
AUDIENCE = "crp-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig", "alg": "RS256"})
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"})  # same kid, not the provider's
ENCRYPTION_KEY = RSAKey.generate_key(2048, parameters={"kid": "enc-1", "use": "enc", "alg": "RSA-OAEP"})


class Provider:
    """An OpenID Connect provider's published documents on a real port; counts the key-set fetches."""

    def __init__(self) -> None:
        self.keys = [KEY, EC_KEY, ENCRYPTION_KEY]
        self.jwks_fetches = 0
        self.down = False
        self.issuer = ""

    async def discovery(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response({"issuer": self.issuer, "jwks_uri": self.issuer + "/protocol/openid-connect/certs"})

    async def certs(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        if self.down:
            return web.Response(status=503)
        return web.json_response({"keys": [k.as_dict(private=False) for k in self.keys]})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    state = Provider()
    app = web.Application()
    app.router.add_get("/realms/bekymring/.well-known/openid-configuration", state.discovery)
    app.router.add_get("/realms/bekymring/protocol/openid-connect/certs", state.certs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp names no public accessor
    state.issuer = f"http://127.0.0.1:{port}/realms/bekymring"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def verifier(provider: Provider) -> AsyncIterator[OidcVerifier]:
    checker = OidcVerifier(provider.issuer, AUDIENCE, refetch_interval_s=60)
    try:
        yield checker
    finally:
        await checker.close()


def claims(provider: Provider, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": provider.issuer,
        "aud": [AUDIENCE, "account"],
        "sub": "7d1c1b3e-0000-4000-8000-000000000001",
        "preferred_username": "konsulent",
        "name": "Konsulent Demo",
        "typ": "Bearer",
        "iat": now,
        "exp": now + 300,
        "crp_role": "consultant",
        "departments": ["holbaek-1", "holbaek-2"],
        "organisation": "org-demo",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def token(provider: Provider, key: RSAKey | ECKey = KEY, alg: str = "RS256", **overrides: Any) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims(provider, **overrides), key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_valid_token_gives_the_persons_principal(provider: Provider, verifier: OidcVerifier) -> None:
    principal = await verifier.verify(token(provider))
    assert principal == Principal(
        client_id="person:konsulent",
        role=Role.CONSULTANT,
        organisation_id="org-demo",
        department_ids=frozenset({"holbaek-1", "holbaek-2"}),
    )
    municipality = await verifier.verify(
        token(provider, preferred_username="kommune-0316", crp_role="municipality", municipality="0316")
    )
    assert (municipality.client_id, municipality.municipality_code, municipality.department_ids) == (
        "person:kommune-0316",
        "0316",
        frozenset(),
    )
    assert municipality.covers(municipality_code="0316") and not municipality.covers(municipality_code="0326")
    # ES256 verifies too; without preferred_username the person is named by sub.
    es = await verifier.verify(token(provider, EC_KEY, "ES256", preferred_username=None, crp_role="ops"))
    assert (es.client_id, es.role) == ("person:7d1c1b3e-0000-4000-8000-000000000001", Role.OPS)
    assert provider.jwks_fetches == 1  # the keys are cached


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 420}, "expired"),
        ({"iss": "http://127.0.0.1:1/realms/other"}, "iss"),
        ({"aud": ["account", "portal"]}, "aud"),
        ({"aud": None}, "aud"),
        ({"nbf": int(time.time()) + 600}, "nbf"),
        ({"iat": int(time.time()) + 600}, "iat"),
        ({"typ": "Refresh"}, "access token"),
    ],
)
async def test_a_mismatched_or_expired_token_is_refused(
    provider: Provider, verifier: OidcVerifier, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(TokenRefused) as refused:
        await verifier.verify(token(provider, **overrides))
    assert reason in str(refused.value).lower()


async def test_a_leeway_of_seconds_is_allowed(provider: Provider, verifier: OidcVerifier) -> None:
    now = int(time.time())
    assert await verifier.verify(token(provider, exp=now - 10, iat=now - 310))
    assert await verifier.verify(token(provider, nbf=now + 10, iat=now + 10))


async def test_forged_tokens_are_refused(provider: Provider, verifier: OidcVerifier) -> None:
    genuine = token(provider)
    header, payload, signature = genuine.split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=="))
    raised["crp_role"] = "admin"
    tampered = f"{header}.{_b64(json.dumps(raised).encode())}.{signature}"
    none = f"{_b64(json.dumps({'alg': 'none', 'kid': 'key-1'}).encode())}.{_b64(json.dumps(raised).encode())}."
    public_pem = KEY.as_pem(private=False)
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": "key-1", "typ": "JWT"}).encode())
    hs_input = f"{hs_header}.{_b64(json.dumps(raised).encode())}"
    hs256 = f"{hs_input}.{_b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())}"
    wrong_key = token(provider, OTHER_KEY)  # right kid, signed by someone else
    rs_header_on_ec_key = jwt.encode({"alg": "RS256", "kid": "ec-1"}, claims(provider), OTHER_KEY)
    for forged in (tampered, none, hs256, wrong_key, rs_header_on_ec_key, "e30.e30.", "not-json.x.y"):
        with pytest.raises(TokenRefused):
            await verifier.verify(forged)
    assert await verifier.verify(genuine)  # the genuine one still passes


async def test_an_unknown_kid_refetches_the_keys_once_per_interval(provider: Provider, verifier: OidcVerifier) -> None:
    await verifier.verify(token(provider))
    assert provider.jwks_fetches == 1
    stranger = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    for _ in range(20):
        with pytest.raises(TokenRefused, match="unknown key"):
            await verifier.verify(token(provider, stranger))
    assert provider.jwks_fetches == 2  # one refetch, not one per forged token


async def test_a_rotated_key_is_picked_up_on_its_first_token(provider: Provider, verifier: OidcVerifier) -> None:
    await verifier.verify(token(provider))
    rotated = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig", "alg": "RS256"})
    provider.keys = [rotated]
    assert (await verifier.verify(token(provider, rotated))).client_id == "person:konsulent"
    assert provider.jwks_fetches == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"crp_role": None},
        {"crp_role": "superuser"},
        {"crp_role": "municipality"},  # no municipality claim
        {"crp_role": "municipality", "municipality": "Holbæk"},
        {"crp_role": "consultant", "departments": []},
        {"crp_role": "reporter", "organisation": None},
    ],
)
async def test_a_token_without_its_roles_claims_is_refused(
    provider: Provider, verifier: OidcVerifier, overrides: dict[str, Any]
) -> None:
    with pytest.raises(PersonNotAllowed):
        await verifier.verify(token(provider, **overrides))


async def test_an_unreachable_provider_is_unavailable_and_not_hammered(provider: Provider) -> None:
    provider.down = True
    checker = OidcVerifier(provider.issuer, AUDIENCE, refetch_interval_s=60)
    try:
        with pytest.raises(ProviderUnavailable) as unavailable:
            await checker.verify(token(provider))
        assert 1 <= unavailable.value.retry_after <= 61
        with pytest.raises(ProviderUnavailable):
            await checker.verify(token(provider))
        assert provider.jwks_fetches == 0  # discovery itself failed (three tries), and was not tried again
    finally:
        await checker.close()


def test_what_looks_like_a_jwt() -> None:
    assert looks_like_jwt("a.b.c") and looks_like_jwt("a.b.")
    assert not looks_like_jwt("crp_abc") and not looks_like_jwt("crp_a.b.c") and not looks_like_jwt("a.b")


# The HTTP edge: the shared dependencies with a verifier on app.state, beside the API clients' registry.
consultants = APIRouter()


@consultants.get("/v1/worklist", dependencies=[Depends(require_roles(Role.CONSULTANT))])
async def worklist() -> dict[str, bool]:
    return {"ok": True}


class Registry:
    loaded = True

    def authenticate(self, token: str) -> Principal | None:
        return Principal("client-ops", Role.OPS) if token == "crp_valid" else None

    def claimed(self, token: str) -> str | None:
        return None


@pytest.fixture
async def edge(provider: Provider, verifier: OidcVerifier) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(title="t", description="t", lifespan=_no_lifespan, routers=[whoami, consultants])
    app.state.clients = Registry()
    app.state.oidc = verifier
    limits = {"rate_limit_per_minute": 1_200, "rate_limit_burst": 200, "failed_auth_per_minute": 10}
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(**limits, failed_auth_burst=5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


@asynccontextmanager
async def _no_lifespan(app: Any) -> AsyncIterator[None]:
    yield


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_the_edge_names_the_person_and_keeps_api_clients(provider: Provider, edge: httpx.AsyncClient) -> None:
    person = await edge.get("/v1/whoami", headers=_bearer(token(provider)))
    assert person.status_code == 200
    assert person.json() == {
        "client_id": "person:konsulent",
        "kind": "person",
        "role": "consultant",
        "organisation_id": "org-demo",
        "municipality_code": None,
        "department_ids": ["holbaek-1", "holbaek-2"],
    }
    client = await edge.get("/v1/whoami", headers=_bearer("crp_valid"))
    assert (client.status_code, client.json()["client_id"], client.json()["kind"]) == (200, "client-ops", "api_client")
    assert (await edge.get("/v1/worklist", headers=_bearer(token(provider)))).status_code == 200
    reporter = token(provider, crp_role="reporter", preferred_username="vicevaert")
    assert (await edge.get("/v1/worklist", headers=_bearer(reporter))).status_code == 403
    # Many requests with a valid person's token never meet the failed-authentication limit (burst 5 here).
    for _ in range(10):
        assert (await edge.get("/v1/whoami", headers=_bearer(token(provider)))).status_code == 200


async def test_the_edge_refuses_bad_person_tokens_with_reasons(provider: Provider, edge: httpx.AsyncClient) -> None:
    expired = await edge.get("/v1/whoami", headers=_bearer(token(provider, exp=int(time.time()) - 600)))
    assert expired.status_code == 401 and expired.json()["detail"] == "Token expired."
    assert expired.headers["www-authenticate"].startswith("Bearer")
    audience = await edge.get("/v1/whoami", headers=_bearer(token(provider, aud="portal")))
    assert audience.status_code == 401 and "aud" in audience.json()["detail"]
    no_role = await edge.get("/v1/whoami", headers=_bearer(token(provider, crp_role=None)))
    assert no_role.status_code == 403 and "crp_role" in no_role.json()["detail"]
    # Forged tokens count as failed authentications: past the burst the source is held back.
    statuses = [
        (await edge.get("/v1/whoami", headers=_bearer(token(provider, OTHER_KEY)))).status_code for _ in range(6)
    ]
    assert 429 in statuses and set(statuses) <= {401, 429}


async def test_the_edge_answers_503_while_the_provider_is_down(provider: Provider) -> None:
    provider.down = True
    checker = OidcVerifier(provider.issuer, AUDIENCE, refetch_interval_s=60)
    app = create_app(title="t", description="t", lifespan=_no_lifespan, routers=[whoami])
    app.state.clients, app.state.oidc = Registry(), checker
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/v1/whoami", headers=_bearer(token(provider)))
            assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
            assert (await client.get("/v1/whoami", headers=_bearer("crp_valid"))).status_code == 200
    finally:
        await checker.close()


async def test_a_person_cannot_own_a_webhook_subscription(provider: Provider, verifier: OidcVerifier) -> None:
    app = create_app(title="t", description="t", lifespan=_no_lifespan, routers=[subscriptions.router])
    app.state.clients, app.state.oidc = Registry(), verifier
    app.dependency_overrides[notify_parts] = lambda: SimpleNamespace()
    kommune = token(provider, preferred_username="kommune-0316", crp_role="municipality", municipality="0316")
    body = {"url": "https://example.org/hook", "event_types": ["referral.created.v1"]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        refused = await client.post("/v1/subscriptions", json=body, headers=_bearer(kommune))
    assert refused.status_code == 403 and "API clients" in refused.json()["detail"]


def test_an_api_client_can_never_pass_for_a_person() -> None:
    registry = ClientRegistry()
    issued = new_client(name="impostor", role=Role.ADMIN)
    registry.apply("person:admin", issued.record.model_copy(update={"client_id": "person:admin"}))
    assert registry.authenticate(issued.token) is None
