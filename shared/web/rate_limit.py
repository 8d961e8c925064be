"""Token buckets in front of every service, per client and per failed authentication: 429 with Retry-After."""

import ipaddress
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth.oidc import ProviderUnavailable, TokenRefused, looks_like_jwt
from shared.auth.people import PersonNotAllowed
from shared.web.errors import problem_body
from shared.web.i18n import Language, language_of

# Probes and scrapes come from the platform itself, never from an API client.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Above this many buckets, idle (full) ones are dropped: unauthenticated callers cannot grow memory without bound.
MAX_BUCKETS = 10_000


@dataclass
class Bucket:
    """Tokens left and when they were last counted."""

    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key: `capacity` tokens, refilled at `per_minute` / 60 per second."""

    def __init__(self, per_minute: int, capacity: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = float(capacity or per_minute)
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until a token is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            bucket = self._buckets[key] = Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        """Return a token taken for `key`: what it was taken for turned out not to count."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.capacity, bucket.tokens + 1.0)

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_BUCKETS:
            # Everyone is busy: drop the oldest half rather than grow (they start again with a full bucket).
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: MAX_BUCKETS // 2]:
                del self._buckets[key]


@dataclass
class Limits:
    """The buckets of one service: requests per client, and failed authentications per source and claimed client."""

    clients: TokenBuckets | None
    failed: TokenBuckets | None

    @classmethod
    def of(cls, settings: object) -> "Limits":
        """From the service's settings (a limit of 0 per client switches that limit off)."""
        per_minute = getattr(settings, "rate_limit_per_minute", 0)
        failed = getattr(settings, "failed_auth_per_minute", 0)
        return cls(
            TokenBuckets(per_minute, getattr(settings, "rate_limit_burst", None)) if per_minute else None,
            TokenBuckets(failed, getattr(settings, "failed_auth_burst", None)) if failed else None,
        )


class RateLimit:
    """Pure ASGI middleware: a token bucket per API client, and a tight one for tokens that fail to authenticate.

    A valid token draws on its client's bucket; a request without a token on its source address's bucket, at the
    same rate. A token that is not valid (unknown, revoked, expired, not Bearer) draws on the failed-authentication
    buckets of its source address and, when the registry knows whose token it was, of that client: a guesser meets
    those within seconds, a client with a valid token never shares them. The limits come from `per_minute` /
    `burst` / `failed_per_minute` / `failed_burst`, or else from the settings the service's lifespan attached
    (`app.state.runtime.settings`), read at the first request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_minute: int | None = None,
        burst: int | None = None,
        failed_per_minute: int | None = None,
        failed_burst: int | None = None,
    ):
        self.app = app
        self._limits: Limits | None = None
        if per_minute is not None or failed_per_minute is not None:
            self._limits = Limits(
                TokenBuckets(per_minute, burst) if per_minute else None,
                TokenBuckets(failed_per_minute, failed_burst) if failed_per_minute else None,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        limits = self._limits or self._from_settings(scope)
        refusal = await _check(limits, scope) if limits else None
        if refusal is not None:
            await _refuse(scope, send, *refusal)
            return
        await self.app(scope, receive, send)

    def _from_settings(self, scope: Scope) -> Limits | None:
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        settings = getattr(runtime, "settings", None)
        if settings is None:
            return None  # not started yet (no lifespan): nothing to limit by
        self._limits = Limits.of(settings)
        return self._limits


def source_of(scope: Scope) -> str:
    """The request's source address; an IPv6 one by its /64, the block one subscriber holds."""
    peer = scope.get("client")
    if not peer:
        return "unknown"
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return peer[0]  # not an IP address (a test transport's name): as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def _check(limits: Limits, scope: Scope) -> tuple[int, str] | None:
    """(seconds to wait, whose limit) when the request is over a limit; None when it may pass."""
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").strip()
    state = getattr(scope.get("app"), "state", None)
    registry = getattr(state, "clients", None)
    source = source_of(scope)
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    verifier = getattr(state, "oidc", None)
    if verifier is not None and scheme.lower() == "bearer" and looks_like_jwt(token):
        # A person's token: their own bucket when it verifies (the route verifies it again from the cache).
        try:
            person = await verifier.verify(token)
        except ProviderUnavailable:
            person = None
            registry = None  # not the caller's fault: counted like a request without a token, the route answers 503
        except (TokenRefused, PersonNotAllowed):
            person = None
        if person is not None:
            wait = limits.clients.take("client:" + person.client_id) if limits.clients else 0.0
            return (math.ceil(wait), "client") if wait > 0 else None
    if not authorization or registry is None or not getattr(registry, "loaded", True):
        # No token, or none can be checked yet (the registry is loading: the route answers 503).
        wait = limits.clients.take("peer:" + source) if limits.clients else 0.0
        return (math.ceil(wait), "client") if wait > 0 else None
    if scheme.lower() == "bearer" and token:
        principal = registry.authenticate(token)
        if principal is not None:
            wait = limits.clients.take("client:" + principal.client_id) if limits.clients else 0.0
            return (math.ceil(wait), "client") if wait > 0 else None
    if limits.failed is None:
        return None
    claimed = registry.claimed(token) if scheme.lower() == "bearer" and token else None
    waits = [(limits.failed.take("source:" + source), "source")]
    if claimed is not None:
        waits.append((limits.failed.take("claimed:" + claimed), "claimed"))
    wait, whose = max(waits)
    return (math.ceil(wait), whose) if wait > 0 else None


def _refusal(retry_after: int, whose: str, language: Language) -> dict[str, object]:
    if whose == "source":
        return problem_body(
            429,
            "Too Many Requests",
            f"Too many failed authentications from this address; try again in {retry_after} s.",
            language=language,
        )
    if whose == "claimed":
        return problem_body(
            429,
            "Too Many Requests",
            f"Too many failed authentications with this client's token; try again in {retry_after} s.",
            language=language,
        )
    detail = f"Rate limit exceeded for this client; try again in {retry_after} s."
    return problem_body(429, "Too Many Requests", detail, language=language)


async def _refuse(scope: Scope, send: Send, retry_after: int, whose: str) -> None:
    language = language_of(scope)
    body = json.dumps(_refusal(retry_after, whose, language)).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-language", language.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"vary", b"Accept-Language"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
