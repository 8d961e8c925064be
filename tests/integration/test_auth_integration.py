"""Tokens against the real api-clients topic: 401 without a valid token, 403 for the wrong role, 404 out of scope."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from shared.auth.admin import new_client, publish_record, revoked
from shared.auth.follower import ApiClientsFollower
from shared.auth.principal import Role
from shared.auth.registry import ClientRegistry
from shared.web.app import create_app
from shared.web.auth import PrincipalDep, ensure_in_scope, require_roles
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

DEPARTMENTS = {"holbaek-1": "0316", "hoeng-1": "0326"}
router = APIRouter()


@router.put("/rules", dependencies=[Depends(require_roles(Role.ADMIN))])
async def put_rules() -> dict:
    return {"stored": True}


@router.get("/departments/{department_id}")
async def department(department_id: str, principal: PrincipalDep) -> dict:
    ensure_in_scope(principal, department_id=department_id, municipality_code=DEPARTMENTS.get(department_id))
    return {"id": department_id}


@pytest.fixture
async def client(kafka_bootstrap: str) -> AsyncIterator[httpx.AsyncClient]:
    registry = ClientRegistry()
    follower = ApiClientsFollower(kafka_bootstrap, registry, client_id="auth-test")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = registry
        follower.start()
        yield
        await follower.stop()

    app = create_app(title="t", description="t", lifespan=lifespan, routers=[router])
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(follower.caught_up.wait(), 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            http.registry = registry  # type: ignore[attr-defined]
            yield http


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _issue(bootstrap: str, **kwargs):  # noqa: ANN202
    issued = new_client(name="test client", **kwargs)
    await publish_record(bootstrap, issued.record)
    return issued


async def test_missing_forged_expired_and_revoked_tokens_get_401(kafka_bootstrap: str, client) -> None:
    admin = await _issue(kafka_bootstrap, role=Role.ADMIN)
    expired = new_client(name="expired", role=Role.ADMIN)
    expired_record = expired.record.model_copy(update={"expires_at": datetime.now(UTC) - timedelta(minutes=1)})
    await publish_record(kafka_bootstrap, expired_record)

    async def known() -> bool:
        return client.registry.get(expired_record.client_id) is not None and (
            (await client.put("/rules", headers=_bearer(admin.token))).status_code == 200
        )

    await eventually(known, what="the new clients reach the registry")

    missing = await client.put("/rules")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert (await client.put("/rules", headers=_bearer("crp_" + "A" * 43))).status_code == 401
    assert (await client.put("/rules", headers={"Authorization": f"Basic {admin.token}"})).status_code == 401
    assert (await client.put("/rules", headers=_bearer(expired.token))).status_code == 401

    await publish_record(kafka_bootstrap, revoked(admin.record))

    async def rejected() -> bool:
        return (await client.put("/rules", headers=_bearer(admin.token))).status_code == 401

    await eventually(rejected, what="the revocation reaching the service")


async def test_wrong_role_gets_403_and_out_of_scope_objects_404(kafka_bootstrap: str, client) -> None:
    holbaek = await _issue(kafka_bootstrap, role=Role.MUNICIPALITY, municipality_code="0316")
    consultant = await _issue(kafka_bootstrap, role=Role.CONSULTANT, department_ids=["hoeng-1"])

    async def known() -> bool:
        return (await client.get("/departments/holbaek-1", headers=_bearer(holbaek.token))).status_code == 200

    await eventually(known, what="the new clients reach the registry")

    assert (await client.put("/rules", headers=_bearer(holbaek.token))).status_code == 403
    assert (await client.get("/departments/hoeng-1", headers=_bearer(holbaek.token))).status_code == 404
    assert (await client.get("/departments/hoeng-1", headers=_bearer(consultant.token))).status_code == 200
    assert (await client.get("/departments/holbaek-1", headers=_bearer(consultant.token))).status_code == 404


async def test_the_cli_creates_a_client_whose_token_works_and_prints_it_once(kafka_bootstrap: str, client) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    command = [sys.executable, "-m", "shared.cli", "clients", "create", "--name", "Kalundborg Kommune"]
    command += ["--role", "municipality", "--municipality", "0326", "--json"]
    result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["role"] == "municipality" and created["municipality"] == "0326"

    async def works() -> bool:
        response = await client.get("/departments/hoeng-1", headers=_bearer(created["token"]))
        return response.status_code == 200

    await eventually(works, what="the CLI's client reaching the service")
    stored = client.registry.get(created["client_id"])
    assert created["token"] not in stored.model_dump_json()
