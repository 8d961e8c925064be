"""HTTP routes of the intake service (DESIGN.md, "Public HTTP contract"): one router per resource."""

from fastapi import Request
from fastapi.responses import JSONResponse

from services.intake.entrypoints.api import clients, concerns, reference
from shared.web.errors import problem

routers = [concerns.router, reference.router, clients.router]
"""One router per resource, mounted by bootstrap."""


def database_unavailable(_: Request, __: Exception) -> JSONResponse:
    """PostgreSQL is away: nothing was stored; the client should retry (with its Idempotency-Key)."""
    return problem(
        503, "Service Unavailable", "The database is unavailable; try again shortly.", headers={"Retry-After": "5"}
    )
