"""The stats API's edge without a database: auth, scope refusals, validation, 503 while PostgreSQL is away."""

import contextlib
from types import SimpleNamespace

import httpx
import pytest

from services.stats.adapters.reference_data import reference_from_directory
from services.stats.domain.costs import UnitCosts
from services.stats.domain.reference import ReferenceData
from services.stats.entrypoints import api
from services.stats.entrypoints.deps import StatsContext
from shared.auth.admin import new_client
from shared.auth.principal import Role
from shared.auth.registry import ClientRegistry
from shared.web.app import create_app
from tests.support.reference import owner_directory

pytestmark = pytest.mark.unit


class UnreachablePool:
    """A pool whose database is away: every acquire fails as asyncpg's does when PostgreSQL is down."""

    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self, timeout: float | None = None) -> None:
        self.acquired += 1
        raise OSError("connection refused")


@pytest.fixture
def edge():  # noqa: ANN201
    registry = ClientRegistry()
    tokens = {}
    for name, role, scope in [
        ("ops", Role.OPS, {}),
        ("holbaek", Role.MUNICIPALITY, {"municipality_code": "0316"}),
        ("reporter", Role.REPORTER, {"organisation_id": "org-demo"}),
    ]:
        issued = new_client(name=name, role=role, **scope)
        registry.apply(issued.record.client_id, issued.record)
        tokens[name] = issued.token
    registry.loaded = True

    @contextlib.asynccontextmanager
    async def lifespan(_):  # noqa: ANN001, ANN202
        yield

    app = create_app(title="stats", description="test", lifespan=lifespan, routers=api.routers)
    pool = UnreachablePool()
    app.state.clients = registry
    app.state.runtime = SimpleNamespace(pool=pool)
    app.state.stats = StatsContext(reference_from_directory(owner_directory()), UnitCosts())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stats")
    return client, tokens, pool


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refusals_come_before_the_database_is_touched(edge) -> None:  # noqa: ANN001
    client, tokens, pool = edge
    assert (await client.get("/v1/stats/overview")).status_code == 401
    assert (await client.get("/v1/stats/hotspots", headers=auth(tokens["reporter"]))).status_code == 403
    other = await client.get("/v1/stats/overview?municipality=0326", headers=auth(tokens["holbaek"]))
    assert other.status_code == 403 and other.json()["detail"].startswith("municipality")
    elsewhere = await client.get("/v1/stats/hotspots?department=hoeng-1", headers=auth(tokens["holbaek"]))
    assert elsewhere.status_code == 403 and elsewhere.json()["detail"].startswith("department")
    late = await client.get("/v1/stats/overview?from=2026-02-02&to=2026-02-01", headers=auth(tokens["ops"]))
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "query.from"
    odd = await client.get("/v1/stats/overview?category=gossip", headers=auth(tokens["ops"]))
    assert odd.status_code == 422 and "category" in odd.json()["detail"]
    # A NUL byte (which PostgreSQL refuses in text: it was a 500) is no department id.
    nul = await client.get(
        "/v1/stats/response-times?group_by=target&department=holbaek-1%00", headers=auth(tokens["ops"])
    )
    assert nul.status_code == 422 and nul.json()["errors"][0]["field"] == "query.department"
    assert pool.acquired == 0


async def test_an_unreachable_database_is_a_503_to_retry(edge) -> None:  # noqa: ANN001
    client, tokens, pool = edge
    response = await client.get("/v1/stats/overview", headers=auth(tokens["ops"]))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert pool.acquired == 1


async def test_scope_lists_only_what_the_caller_may_filter_by(edge) -> None:  # noqa: ANN001
    client, tokens, _ = edge
    holbaek = (await client.get("/v1/stats/scope", headers=auth(tokens["holbaek"]))).json()
    assert holbaek["municipalities"] == [{"code": "0316", "name": "Holbæk"}]
    assert {d["id"] for d in holbaek["departments"]} == {"holbaek-1", "holbaek-2"}
    everything = (await client.get("/v1/stats/scope", headers=auth(tokens["ops"]))).json()
    assert len(everything["departments"]) == 7 and len(everything["municipalities"]) == 5


async def test_the_page_is_served_with_a_strict_content_security_policy(edge) -> None:  # noqa: ANN001
    client, _, _ = edge
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "API-nøgle" in page.text


async def test_no_statistics_before_the_reference_directory_arrives(edge) -> None:  # noqa: ANN001
    client, tokens, pool = edge
    client._transport.app.state.stats = StatsContext(ReferenceData(), UnitCosts())  # type: ignore[attr-defined]
    waiting = await client.get("/v1/stats/hotspots", headers=auth(tokens["ops"]))
    assert waiting.status_code == 503 and waiting.headers["retry-after"] and pool.acquired == 0
