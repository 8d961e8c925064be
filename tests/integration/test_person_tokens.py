"""Persons' real access tokens from the test stack's Keycloak (login page, authorization code with PKCE) against
the services' routes on the stack's PostgreSQL and Kafka: the municipality's person reads its own municipality's
referral and gets 404 for another's, a reporter's person cannot list the consultant's suggestions, and the audit
record of a read, the transition history and the concern's reporter name the person, not a client.

Needs the test stack's stack.env with Keycloak (OIDC_ISSUER, PORTAL_OIDC_CLIENT_ID/SECRET, PORTAL_URL).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.routing.domain.clock import FakeClock
from services.routing.entrypoints import api
from services.routing.handlers.concerns import apply_concern_events
from shared.auth.oidc import OidcVerifier
from shared.auth.principal import Role
from shared.auth.registry import ClientRegistry
from shared.web.app import create_app
from shared.web.whoami import router as whoami
from tests.integration.test_routing_store import routing_deps
from tests.support.intake_harness import (
    bearer,
    concern_body,
    intake_database,
    intake_settings,
    isolated_topics,
    issue,
    running_intake,
)
from tests.support.oidc_login import access_token, oidc_env, people
from tests.support.routing_events import HOENG, HOLBAEK, concern_event

pytestmark = pytest.mark.integration
AUDIENCE = "crp-api"


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    values = oidc_env()
    if values is None:
        pytest.fail("the test stack has no Keycloak: stack.env lacks OIDC_ISSUER or the portal's client settings")
    return values


@pytest.fixture
async def verifier(env: dict[str, str]) -> AsyncIterator[OidcVerifier]:
    checker = OidcVerifier(env["OIDC_ISSUER"], AUDIENCE)
    try:
        yield checker
    finally:
        await checker.close()


@asynccontextmanager
async def _no_lifespan(app: Any) -> AsyncIterator[None]:
    yield


@asynccontextmanager
async def routing_edge(deps: Any, verifier: OidcVerifier) -> AsyncIterator[httpx.AsyncClient]:
    """Routing's routes behind the shared edge (rate limits, errors, auth), as its bootstrap mounts them."""
    app = create_app(title="routing", description="t", lifespan=_no_lifespan, routers=[*api.routers, whoami])
    registry = ClientRegistry()
    registry.loaded = True  # no API client here: persons only
    app.state.deps, app.state.clients, app.state.oidc = deps, registry, verifier
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing.test") as http:
        yield http


async def test_a_municipalitys_person_reads_its_own_referrals_and_moves_them_by_name(
    env: dict[str, str], verifier: OidcVerifier, fresh_database
) -> None:
    now = datetime.now(UTC)
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(now)) as deps:
        ours = concern_event(categories=("rent_arrears", "mental_health"), place=HOLBAEK, reported_at=now)
        theirs = concern_event(categories=("rent_arrears", "mental_health"), place=HOENG, reported_at=now)
        await apply_concern_events(deps, [ours, theirs])
        rows = await deps.pool.fetch(
            "SELECT referral_id, municipality_code FROM referrals WHERE target = 'municipality'"
        )
        by_code = {r["municipality_code"]: r["referral_id"] for r in rows}
        assert set(by_code) == {"0316", "0326"}
        kommune = bearer(await access_token(env, "kommune-0316"))
        async with routing_edge(deps, verifier) as http:
            me = (await http.get("/v1/whoami", headers=kommune)).json()
            assert (me["client_id"], me["kind"], me["role"], me["municipality_code"]) == (
                "person:kommune-0316",
                "person",
                "municipality",
                "0316",
            )
            assert (await http.get(f"/v1/referrals/{by_code['0316']}", headers=kommune)).status_code == 200
            assert (await http.get(f"/v1/referrals/{by_code['0326']}", headers=kommune)).status_code == 404
            listed = (await http.get("/v1/referrals", headers=kommune)).json()["items"]
            assert {r["referral_id"] for r in listed} == {by_code["0316"]}
            moved = await http.post(
                f"/v1/referrals/{by_code['0316']}/transitions", json={"to": "received"}, headers=kommune
            )
            assert moved.status_code == 200, moved.text
            other = await http.post(
                f"/v1/referrals/{by_code['0326']}/transitions", json={"to": "received"}, headers=kommune
            )
            assert other.status_code == 404
        changed = await deps.pool.fetch(
            "SELECT changed_by, changed_by_role FROM referral_transitions WHERE referral_id = $1", by_code["0316"]
        )
        assert [tuple(r) for r in changed] == [("person:kommune-0316", "municipality")]


async def test_a_reporters_person_cannot_list_the_consultants_suggestions(
    env: dict[str, str], verifier: OidcVerifier, fresh_database
) -> None:
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(datetime.now(UTC))) as deps:
        reporter = bearer(await access_token(env, "vicevaert"))
        # ops may look at the suggestions too (konsulent is left alone: test_keycloak's wrong password locks it a while)
        ops = bearer(await access_token(env, "drift"))
        async with routing_edge(deps, verifier) as http:
            assert (await http.get("/v1/whoami", headers=reporter)).json()["role"] == "reporter"
            refused = await http.get("/v1/suggestions", headers=reporter)
            assert refused.status_code == 403 and "reporter" in refused.json()["detail"]
            assert (await http.get("/v1/referrals", headers=reporter)).status_code == 403
            assert (await http.get("/v1/suggestions", headers=ops)).status_code == 200


async def test_a_forged_or_foreign_token_is_refused(
    env: dict[str, str], verifier: OidcVerifier, fresh_database
) -> None:
    genuine = await access_token(env, "kommune-0316")
    header, payload, signature = genuine.split(".")
    tampered = f"{header}.{payload[:-4]}{'AAAA' if payload[-4:] != 'AAAA' else 'BBBB'}.{signature}"
    async with fresh_database("routing") as url, routing_deps(url, FakeClock(datetime.now(UTC))) as deps:
        async with routing_edge(deps, verifier) as http:
            assert (await http.get("/v1/whoami", headers=bearer(genuine))).status_code == 200
            forged = await http.get("/v1/whoami", headers=bearer(tampered))
            assert forged.status_code == 401
        elsewhere = OidcVerifier(env["OIDC_ISSUER"], "another-api")
        try:
            async with routing_edge(deps, elsewhere) as http:
                foreign = await http.get("/v1/whoami", headers=bearer(genuine))
                assert foreign.status_code == 401 and "aud" in foreign.json()["detail"]
        finally:
            await elsewhere.close()


async def test_the_audit_record_of_a_read_names_the_person(
    env: dict[str, str], kafka_bootstrap: str, admin_database_url: str
) -> None:
    person = people(env)["vicevaert"]
    department = (person.get("departments") or ["holbaek-1"])[0]
    prefix = await isolated_topics(kafka_bootstrap)
    admin = await issue(kafka_bootstrap, prefix, Role.ADMIN)
    async with intake_database(admin_database_url) as url:
        settings = intake_settings(url, kafka_bootstrap, prefix, oidc_issuer=env["OIDC_ISSUER"], oidc_audience=AUDIENCE)
        async with running_intake(settings, admin.token) as intake:
            vicevaert = bearer(await access_token(env, "vicevaert"))
            reported = await intake.post("/v1/concerns", json=concern_body(department_id=department), headers=vicevaert)
            assert reported.status_code == 201, reported.text
            concern_id = reported.json()["id"]
            read = await intake.get(f"/v1/concerns/{concern_id}", headers=vicevaert)
            assert read.status_code == 200 and read.json()["details"]["resident"]["name"] == "Fiktiv Beboer"
            trail = (await intake.get(f"/v1/concerns/{concern_id}/audit", headers=bearer(admin.token))).json()
            assert [(e["client_id"], e["role"], e["action"]) for e in trail] == [
                ("person:vicevaert", "reporter", "read_details")
            ]
            # The association's person has no referral of it (nothing routes it here): it does not exist for them.
            frivillig = bearer(await access_token(env, "frivillig"))
            assert (await intake.get(f"/v1/concerns/{concern_id}", headers=frivillig)).status_code == 404


async def test_the_stacks_running_services_name_the_person(env: dict[str, str]) -> None:
    """The four services of the running test stack (their OIDC_ISSUER from the stack) take the person's token."""
    kommune = bearer(await access_token(env, "kommune-0316"))
    reporter = bearer(await access_token(env, "vicevaert"))
    async with httpx.AsyncClient(timeout=15) as http:
        for service in ("INTAKE_URL", "ROUTING_URL", "NOTIFY_URL", "STATS_URL"):
            me = await http.get(os.environ[service] + "/v1/whoami", headers=kommune)
            assert me.status_code == 200, f"{service}: {me.status_code} {me.text[:200]}"
            assert (me.json()["client_id"], me.json()["municipality_code"]) == ("person:kommune-0316", "0316")
        routing = os.environ["ROUTING_URL"]
        listed = await http.get(routing + "/v1/referrals", params={"limit": 500}, headers=kommune)
        assert listed.status_code == 200
        assert {r["municipality_code"] for r in listed.json()["items"]} <= {"0316"}
        assert (await http.get(routing + "/v1/suggestions", headers=reporter)).status_code == 403
