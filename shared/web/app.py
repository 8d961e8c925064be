"""The app factory: the same edge for every service (health, readiness, metrics, docs, errors)."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shared.metrics import READY, HttpMetricsMiddleware, metrics_endpoint
from shared.web.body_limit import BodyLimits, BodySizeLimit
from shared.web.errors import install_error_handlers, problem_responses
from shared.web.i18n import LanguageMiddleware
from shared.web.rate_limit import RateLimit

ReadinessCheck = Callable[[], Awaitable[bool]]

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Alive: the process answers.")
async def healthz() -> dict[str, str]:
    """Liveness: no dependency is checked."""
    return {"status": "ok"}


@health.get("/readyz", summary="Ready: the service's database and Kafka are reachable.")
async def readyz(request: Request) -> JSONResponse:
    """200 when every dependency answers in time, 503 naming the ones that do not."""
    status = await check_readiness(request)
    ready = bool(status) and all(status.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {k: "ok" if v else "down" for k, v in status.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def check_readiness(request: Request) -> dict[str, bool]:
    """Run the app's readiness checks side by side and set the `service_ready` gauge of each dependency."""
    checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
    results = await asyncio.gather(*(_safe(check) for check in checks.values()))
    status = dict(zip(checks, results, strict=True))
    for name, ok in status.items():
        READY.labels(name).set(1 if ok else 0)
    return status


async def metrics(request: Request) -> Response:
    """The Prometheus exposition, with `service_ready` as of this scrape (nothing else may call /readyz)."""
    await check_readiness(request)
    return await metrics_endpoint(request)


async def _safe(check: ReadinessCheck) -> bool:
    try:
        return await check()
    except Exception:
        return False


def create_app(
    *,
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]],
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    body_limits: BodyLimits | None = None,
) -> FastAPI:
    """A FastAPI app with /healthz, /readyz, /metrics, /docs, /openapi.json, problem+json errors and the limits.

    Every service's edge holds the same limits: a body over `body_limits` is 413 unread (the service's
    `max_body_bytes`), requests past the rate of their client or of failed authentications are 429.
    """
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan, redoc_url=None, debug=False)
    # Innermost: a request refused for its rate is not read at all.
    app.add_middleware(BodySizeLimit, limits=body_limits or BodyLimits())
    # Inside the metrics middleware, so refusals (429) are counted too; limits come from the runtime's settings.
    app.add_middleware(RateLimit)
    app.add_middleware(HttpMetricsMiddleware)
    # Outermost of these: every refusal made inside answers in the language Accept-Language asks for.
    app.add_middleware(LanguageMiddleware)
    install_error_handlers(app)
    app.include_router(health)
    app.add_route("/metrics", metrics, include_in_schema=False)
    for router in routers:
        app.include_router(router)
    _document_body_limit(app)
    return app


def _document_body_limit(app: FastAPI) -> None:
    """Every operation that takes a body documents the 413 the body limit answers."""
    generate = app.openapi
    too_large = {k: v for k, v in problem_responses(413)[413].items() if k != "model"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document.get("paths", {}).values():
                for method, operation in operations.items():
                    if method in ("post", "put", "patch"):
                        operation.setdefault("responses", {}).setdefault("413", too_large)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign] - FastAPI's documented way to amend the document
