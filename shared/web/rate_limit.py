"""A per-client token bucket in front of every service: over the rate, 429 with Retry-After (problem+json)."""

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.errors import problem_body
from shared.web.i18n import current_language

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


class RateLimit:
    """Pure ASGI middleware: a token bucket per API client (by its token's client, else by the peer address).

    The limit comes from `per_minute` / `burst`, or else from the settings the service's lifespan attached
    (`app.state.runtime.settings.rate_limit_per_minute`, 0 disables it), read at the first request.
    """

    def __init__(self, app: ASGIApp, *, per_minute: int | None = None, burst: int | None = None):
        self.app = app
        self._buckets: TokenBuckets | None = TokenBuckets(per_minute, burst) if per_minute else None
        self._configured = per_minute is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        buckets = self._buckets if self._configured else self._from_settings(scope)
        wait = buckets.take(self._key(scope)) if buckets else 0.0
        if wait > 0:
            await _refuse(send, math.ceil(wait))
            return
        await self.app(scope, receive, send)

    def _from_settings(self, scope: Scope) -> TokenBuckets | None:
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        settings = getattr(runtime, "settings", None)
        if settings is None:
            return None  # not started yet (no lifespan): nothing to limit by
        per_minute = getattr(settings, "rate_limit_per_minute", 0)
        self._buckets = TokenBuckets(per_minute, getattr(settings, "rate_limit_burst", None)) if per_minute else None
        self._configured = True
        return self._buckets

    @staticmethod
    def _key(scope: Scope) -> str:
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        registry = getattr(getattr(scope.get("app"), "state", None), "clients", None)
        if scheme.lower() == "bearer" and token and registry is not None:
            principal = registry.authenticate(token.strip())
            if principal is not None:
                return "client:" + principal.client_id
        # Missing or unknown tokens share their peer's bucket, so forged tokens cannot mint fresh buckets.
        peer = scope.get("client")
        return "peer:" + (peer[0] if peer else "unknown")


async def _refuse(send: Send, retry_after: int) -> None:
    language = current_language()
    detail = f"Rate limit exceeded for this client; try again in {retry_after} s."
    body = json.dumps(problem_body(429, "Too Many Requests", detail, language=language)).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-language", language.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
