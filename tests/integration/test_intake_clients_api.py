"""API clients over intake's HTTP API, against the running test stack: an admin creates a client, its token works
at routing's /v1/whoami within seconds, a revoke makes it 401 there; a consultant is refused; a bad role or a
missing scope is a 422 naming the field; each change is audited under the caller's name (an admin person's too).

Needs the test stack's stack.env (INTAKE_URL, ROUTING_URL, INTAKE_DATABASE_URL, CREDENTIALS_FILE; OIDC_* for the
person's case).
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.oidc_login import access_token, oidc_env
from tests.support.polling import eventually

pytestmark = pytest.mark.integration
PROPAGATION_S = 10.0
"""How soon every service follows a change of the api-clients topic ("within a few seconds")."""


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: load the test stack's stack.env")
    return value


def _demo_token(role: str) -> str:
    stored = json.loads(Path(_env("CREDENTIALS_FILE")).read_text())
    clients = stored["clients"] if isinstance(stored, dict) else stored
    return next(c["token"] for c in clients if c["role"] == role)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def http() -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    intake = httpx.AsyncClient(base_url=_env("INTAKE_URL"), timeout=40)
    routing = httpx.AsyncClient(base_url=_env("ROUTING_URL"), timeout=10)
    try:
        yield {"intake": intake, "routing": routing}
    finally:
        await intake.aclose()
        await routing.aclose()


async def _whoami_status(routing: httpx.AsyncClient, token: str, expected: int) -> None:
    async def answers() -> bool:
        return (await routing.get("/v1/whoami", headers=_bearer(token))).status_code == expected

    await eventually(answers, within=PROPAGATION_S, what=f"routing's /v1/whoami answering {expected}")


async def _audit(client_id: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(_env("INTAKE_DATABASE_URL"))
    try:
        rows = await conn.fetch(
            "SELECT action, actor, actor_role FROM api_client_changes WHERE client_id = $1 ORDER BY id", client_id
        )
    finally:
        await conn.close()
    return [(r["action"], r["actor"], r["actor_role"]) for r in rows]


async def _create_use_and_revoke(http: dict[str, httpx.AsyncClient], admin_token: str, actor: str) -> None:
    intake, routing = http["intake"], http["routing"]
    name = f"Integrationstest {uuid.uuid4().hex[:8]}"
    body = {"name": name, "role": "municipality", "municipality_code": "0316", "expires_in_days": 1}
    created = await intake.post("/v1/clients", json=body, headers=_bearer(admin_token))
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    client = created.json()
    token = client["token"]
    assert token.startswith("crp_") and client["role"] == "municipality" and client["municipality_code"] == "0316"
    assert client["active"] and client["revoked_at"] is None and client["created_by"] == actor
    try:
        await _whoami_status(routing, token, 200)
        whoami = (await routing.get("/v1/whoami", headers=_bearer(token))).json()
        assert whoami == {
            "client_id": client["client_id"], "kind": "api_client", "role": "municipality", "organisation_id": None,
            "municipality_code": "0316", "department_ids": [],
        }  # fmt: skip
        listed = (await intake.get("/v1/clients", headers=_bearer(admin_token))).json()["items"]
        mine = next(c for c in listed if c["client_id"] == client["client_id"])
        assert mine["name"] == name and "token" not in mine and "token_sha256" not in mine
        assert token not in json.dumps(listed) and not any("token" in key for c in listed for key in c)
    finally:
        answer = await intake.post(f"/v1/clients/{client['client_id']}/revoke", headers=_bearer(admin_token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["revoked_at"] and not answer.json()["active"] and answer.json()["revoked_by"] == actor
    await _whoami_status(routing, token, 401)
    assert (await intake.get("/v1/whoami", headers=_bearer(token))).status_code == 401
    again = await intake.post(f"/v1/clients/{client['client_id']}/revoke", headers=_bearer(admin_token))
    assert again.status_code == 200 and again.json()["revoked_at"] == answer.json()["revoked_at"]  # no second revoke
    role = "admin"
    assert await _audit(client["client_id"]) == [("created", actor, role), ("revoked", actor, role)]


async def test_an_admin_client_creates_a_client_whose_token_works_at_routing_until_revoked(http) -> None:  # noqa: ANN001
    admin = _demo_token("admin")
    whoami = (await http["intake"].get("/v1/whoami", headers=_bearer(admin))).json()
    await _create_use_and_revoke(http, admin, whoami["client_id"])


async def test_an_admin_person_creates_and_revokes_a_client_audited_by_name(http) -> None:  # noqa: ANN001
    env = oidc_env()
    if env is None:
        pytest.skip("the test stack has no Keycloak")
    await _create_use_and_revoke(http, await access_token(env, "admin"), "person:admin")


async def test_a_consultant_or_ops_may_neither_list_create_nor_revoke(http) -> None:  # noqa: ANN001
    intake = http["intake"]
    admin = _demo_token("admin")
    victim = (await intake.get("/v1/whoami", headers=_bearer(admin))).json()["client_id"]
    for role in ("consultant", "ops"):
        headers = _bearer(_demo_token(role))
        assert (await intake.get("/v1/clients", headers=headers)).status_code == 403
        created = await intake.post("/v1/clients", json={"name": "x", "role": "admin"}, headers=headers)
        assert created.status_code == 403
        assert (await intake.post(f"/v1/clients/{victim}/revoke", headers=headers)).status_code == 403
    assert (await intake.get("/v1/clients")).status_code == 401
    assert (await http["routing"].get("/v1/whoami", headers=_bearer(admin))).status_code == 200  # still works


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "superuser"}, "role"),
        ({"name": "", "role": "ops"}, "name"),
        ({"name": "x", "role": "municipality"}, "municipality_code"),
        ({"name": "x", "role": "municipality", "municipality_code": "316"}, "municipality_code"),
        ({"name": "x", "role": "consultant"}, "department_ids"),
        ({"name": "x", "role": "reporter"}, "organisation_id"),
        ({"name": "x", "role": "ops", "token": "crp_mine"}, "token"),
        ({"name": "x", "role": "ops", "expires_in_days": 0}, "expires_in_days"),
    ],
)
async def test_an_invalid_client_is_a_422_naming_the_field(http, body: dict, field: str) -> None:  # noqa: ANN001
    answer = await http["intake"].post("/v1/clients", json=body, headers=_bearer(_demo_token("admin")))
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_revoking_an_unknown_client_is_404(http) -> None:  # noqa: ANN001
    answer = await http["intake"].post("/v1/clients/cli_nosuchclient0000/revoke", headers=_bearer(_demo_token("admin")))
    assert answer.status_code == 404
