"""The token buckets at the edge: per client a burst and refill, 429 with Retry-After; failed authentications
limited per source address and per client a stale token names, never holding back a valid token."""

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
    """Two valid tokens; "carol-old" was carol's token (revoked or expired); anything else was never issued."""

    loaded = True

    def authenticate(self, token: str) -> SimpleNamespace | None:
        return SimpleNamespace(client_id=token) if token in ("alice", "bob") else None

    def claimed(self, token: str) -> str | None:
        return {"alice": "alice", "bob": "bob", "carol-old": "carol"}.get(token)


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


async def get(app: FastAPI, headers: dict[str, str], source: str = "192.0.2.7", **extra: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(source, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/v1/thing", headers=headers | extra)


def forged(i: int) -> dict[str, str]:
    return {"Authorization": f"Bearer crp_forged-{i}"}


async def test_failed_authentications_are_limited_per_source_address() -> None:
    app = app_with(per_minute=6000, burst=1000, failed_per_minute=10, failed_burst=3)
    codes = [(await get(app, forged(i))).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # (the route would answer 401: this app has no auth dependency)
    refused = await get(app, forged(9))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "6"  # one guess per 6 s
    assert refused.json()["detail"] == "Too many failed authentications from this address; try again in 6 s."
    danish = await get(app, forged(10), **{"Accept-Language": "da"})
    assert danish.json()["detail"] == "For mange mislykkede login-forsøg fra denne adresse; prøv igen om 6 s."
    for headers in ({"Authorization": "Basic YTpi"}, {"Authorization": "Bearer "}):
        assert (await get(app, headers)).status_code == 429  # anything but a valid token is a failed one
    # A valid token from the same address is never held back by the guesser beside it, nor is a caller without one.
    assert (await get(app, {"Authorization": "Bearer alice"})).status_code == 200
    assert (await get(app, {})).status_code == 200
    assert (await get(app, forged(11), source="198.51.100.1")).status_code == 200  # another address


async def test_an_ipv6_source_is_counted_by_its_64() -> None:
    app = app_with(per_minute=6000, failed_per_minute=10, failed_burst=2)
    sources = ["2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:2:aaaa::3"]
    assert [(await get(app, forged(i), source=s)).status_code for i, s in enumerate(sources)] == [200, 200, 429]
    assert (await get(app, forged(4), source="2001:db8:1:3::1")).status_code == 200  # the next /64
    mapped = app_with(per_minute=6000, failed_per_minute=10, failed_burst=1)
    assert (await get(mapped, forged(5), source="::ffff:192.0.2.9")).status_code == 200
    assert (await get(mapped, forged(6), source="192.0.2.9")).status_code == 429  # the same IPv4 address


async def test_a_revoked_or_expired_token_is_limited_per_client_it_names_from_any_address() -> None:
    app = app_with(per_minute=6000, failed_per_minute=10, failed_burst=2)
    old = {"Authorization": "Bearer carol-old"}
    codes = [(await get(app, old, source=f"203.0.113.{i}")).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    refused = await get(app, old, source="203.0.113.50")
    assert refused.json()["detail"].startswith("Too many failed authentications with this client's token;")
    assert (await get(app, forged(1), source="203.0.113.51")).status_code == 200  # a guess names no client


async def test_nothing_counts_as_failed_while_the_registry_is_loading() -> None:
    app = app_with(per_minute=6000, failed_per_minute=10, failed_burst=1)
    app.state.clients.loaded = False  # the route answers 503; the token may well be valid
    assert [(await get(app, forged(i))).status_code for i in range(3)] == [200] * 3


async def test_limit_is_read_from_the_runtime_settings_and_zero_disables_it() -> None:
    app = app_with()
    assert await statuses(app, 5, token="alice") == [200] * 5  # no runtime attached yet: nothing to limit by
    app = app_with()
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(rate_limit_per_minute=60, rate_limit_burst=1))
    assert await statuses(app, 2, token="alice") == [200, 429]
    app = app_with()
    limits = {"rate_limit_per_minute": 0, "failed_auth_per_minute": 10, "failed_auth_burst": 1}
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(**limits))
    assert await statuses(app, 2, token="forged") == [200, 429]
    app = app_with()
    app.state.runtime = SimpleNamespace(settings=SimpleNamespace(rate_limit_per_minute=0, rate_limit_burst=None))
    assert await statuses(app, 5, token="alice") == [200] * 5


@pytest.mark.parametrize(
    ("trusted", "source"), [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9"), ("10.0.0.1", "127.0.0.1")]
)
async def test_x_forwarded_for_names_the_source_only_from_a_trusted_proxy(
    monkeypatch: pytest.MonkeyPatch, trusted: str, source: str
) -> None:
    """uvicorn would trust X-Forwarded-For from any local process: a guesser would name a fresh address per try."""
    import uvicorn

    from shared import runtime
    from shared.settings import Settings

    started: dict = {}
    monkeypatch.setattr(runtime, "configure_logging", lambda *_: None)
    monkeypatch.setattr(runtime.uvicorn, "run", lambda app, **options: started.update(app=app, options=options))
    seen: list = []

    async def service(scope, receive, send) -> None:  # noqa: ANN001
        seen.append(scope["client"][0])

    settings = Settings(database_url="postgresql://x@h/x", subject_key_secret="s" * 32, forwarded_allow_ips=trusted)
    runtime.serve(service, settings)  # type: ignore[arg-type] - any ASGI app
    config = uvicorn.Config(started["app"], **started["options"])
    config.load()
    headers = [(b"x-forwarded-for", b"203.0.113.9")]
    scope = {"type": "http", "client": ("127.0.0.1", 5000), "headers": headers, "scheme": "http"}
    await config.loaded_app(scope, None, None)
    assert seen == [source]
