"""The per-client token bucket: a burst, refill over time, 429 with Retry-After, one bucket per client."""

from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from shared.web import rate_limit
from shared.web.rate_limit import RateLimit, TokenBuckets

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, capacity=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token per second
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refill is capped at the capacity


def test_a_token_given_back_is_there_again_up_to_the_capacity() -> None:
    buckets = TokenBuckets(per_minute=1, capacity=2, clock=Clock())
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0] and buckets.take("a") > 0
    buckets.give_back("a")
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    for _ in range(5):
        buckets.give_back("a")
    assert [buckets.take("a") for _ in range(3)][-1] > 0  # never more than the capacity
    buckets.give_back("unknown")  # nothing taken, nothing to give back


def test_bucket_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "MAX_BUCKETS", 10)
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, capacity=5, clock=clock)
    for i in range(100):
        buckets.take(f"k{i}")
    assert len(buckets._buckets) <= 10


class Registry:
    """Two known tokens; anything else is unknown."""

    def authenticate(self, token: str) -> SimpleNamespace | None:
        return SimpleNamespace(client_id=token) if token in ("alice", "bob") else None


def app_with(**limit: object) -> FastAPI:
    app = FastAPI()
    app.add_middleware(RateLimit, **limit)
    app.state.clients = Registry()

    @app.get("/v1/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def statuses(app: FastAPI, n: int, path: str = "/v1/thing", token: str | None = None) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return [(await http.get(path, headers=headers)).status_code for _ in range(n)]


async def test_over_the_limit_is_429_problem_with_retry_after_per_client() -> None:
    app = app_with(per_minute=60, burst=2)
    assert await statuses(app, 3, token="alice") == [200, 200, 429]
    assert await statuses(app, 2, token="bob") == [200, 200]  # alice's use does not count against bob
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        refused = await http.get("/v1/thing", headers={"Authorization": "Bearer alice"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["status"] == 429 and refused.json()["title"] == "Too Many Requests"
    assert await statuses(app, 5, path="/healthz", token="alice") == [200] * 5  # probes are never limited


async def test_unknown_tokens_share_the_peers_bucket() -> None:
    app = app_with(per_minute=60, burst=2)
    headers = [{"Authorization": f"Bearer forged-{i}"} for i in range(3)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        codes = [(await http.get("/v1/thing", headers=h)).status_code for h in headers]
    assert codes == [200, 200, 429]


async def test_limit_is_read_from_the_runtime_settings_and_zero_disables_it() -> None:
    app = app_with()
    assert await statuses(app, 5, token="alice") == [200] * 5  # no runtime attached yet: nothing to limit by
    app = app_with()
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(rate_limit_per_minute=60, rate_limit_burst=1))
    assert await statuses(app, 2, token="alice") == [200, 429]
    app = app_with()
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(rate_limit_per_minute=0, rate_limit_burst=None))
    assert await statuses(app, 5, token="alice") == [200] * 5
