"""The shared HTTP edge and the subject key, without any network."""

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.subject_key import subject_key
from shared.web.app import create_app

pytestmark = pytest.mark.unit


class Body(BaseModel):
    severity: str = Field(pattern="^(low|medium|high|acute)$")
    description: str = Field(max_length=10)


router = APIRouter()


@router.post("/echo")
async def echo(body: Body) -> dict:
    return body.model_dump()


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


async def _no_lifespan(app):  # noqa: ANN001, ANN202
    yield


def _client() -> httpx.AsyncClient:
    from contextlib import asynccontextmanager

    app = create_app(title="t", description="t", lifespan=asynccontextmanager(_no_lifespan), routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_invalid_input_names_the_field_without_echoing_the_value() -> None:
    async with _client() as client:
        response = await client.post("/echo", json={"severity": "urgent", "description": "Grethe Hansen er syg"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"severity", "description"}
    assert "Grethe" not in response.text and "urgent" not in response.text


async def test_an_unexpected_error_is_a_bare_500_without_trace() -> None:
    async with _client() as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text


async def test_readyz_without_checks_is_not_ready_and_healthz_is_alive() -> None:
    async with _client() as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/nowhere")).status_code == 404


def test_subject_key_is_a_stable_pseudonym_of_the_tenancy() -> None:
    secret = "s" * 32
    key = subject_key(secret, "org-demo", tenancy_id="A-12-3", department_id="holbaek-1")
    assert key == subject_key(secret, "org-demo", tenancy_id=" a-12-3 ", department_id="holbaek-2")
    assert key != subject_key(secret, "org-demo", tenancy_id="A-12-4", department_id="holbaek-1")
    assert key != subject_key("t" * 32, "org-demo", tenancy_id="A-12-3", department_id="holbaek-1")
    assert key != subject_key(secret, "org-demo", tenancy_id=None, department_id="holbaek-1")
    assert "A-12-3" not in key and key.startswith("sk_")
