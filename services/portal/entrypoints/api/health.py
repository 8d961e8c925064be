"""Liveness and readiness: /health/live, /health/ready (also as /healthz and /readyz, like the services)."""

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shared.db.pool import database_ready

router = APIRouter(tags=["health"], include_in_schema=False)


async def _within(check: Awaitable[bool], timeout: float) -> bool:
    try:
        return await asyncio.wait_for(check, timeout)
    except TimeoutError:
        return False


@router.get("/health/live")
@router.get("/healthz")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/health/ready")
@router.get("/readyz")
async def ready(request: Request) -> JSONResponse:
    """200 when the session database and the provider's discovery document answer; 503 naming what does not."""
    context = request.app.state.portal
    timeout = context.settings.readiness_timeout_s
    database, provider = await asyncio.gather(
        database_ready(request.app.state.pool, timeout), _within(context.oidc.ready(), timeout + 3)
    )
    checks = {"database": database, "identity_provider": provider}
    ok = all(checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": {k: "ok" if v else "down" for k, v in checks.items()}}
    return JSONResponse(body, status_code=200 if ok else 503)
