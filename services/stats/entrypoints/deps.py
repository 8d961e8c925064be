"""Dependencies of the stats routes, read as types: the caller's selection, the period, the context."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from services.stats.domain.calendar import Period, PeriodError
from services.stats.domain.costs import UnitCosts
from services.stats.domain.disclosure import Disclosure
from services.stats.domain.reference import ReferenceData
from services.stats.domain.scope import OutOfScope, Selection, select
from shared.auth.principal import Principal, Role
from shared.contracts.events import ENTITY_ID_PATTERN
from shared.contracts.vocabulary import Category
from shared.web.auth import require_roles

RETRY = {"Retry-After": "5"}
READERS = (Role.OPS, Role.ADMIN, Role.MUNICIPALITY, Role.CONSULTANT, Role.ASSOCIATION)
"""Everyone but reporters may read statistics, each within their scope."""


@dataclass
class StatsContext:
    """What the routes need besides the database: reference data, unit costs and the small-count rule.

    `reference` is replaced whenever a new directory arrives on the reference-data topic.
    """

    reference: ReferenceData
    unit_costs: UnitCosts
    disclosure: Disclosure = field(default_factory=Disclosure)


def stats_context(request: Request) -> StatsContext:
    """The context the lifespan attached; 503 until the reference directory has arrived (no rate without it)."""
    context: StatsContext = request.app.state.stats
    if not context.reference.version:
        raise HTTPException(503, "Reference data is still loading; try again shortly.", headers=RETRY)
    return context


Reader = Annotated[Principal, Depends(require_roles(*READERS))]
ContextDep = Annotated[StatsContext, Depends(stats_context)]


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def period(
    start: Annotated[
        date | None, Query(alias="from", description="First day (Danish calendar), default 90 days ago.")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day, included; default today.")] = None,
) -> Period:
    """The period asked for; 422 naming `from` or `to` when unusable."""
    try:
        return Period.of(start, end)
    except PeriodError as error:
        raise _invalid(error.field, str(error)) from None


def selection(
    principal: Reader,
    context: ContextDep,
    municipality: Annotated[str | None, Query(pattern=r"^\d{4}$", description="Municipality code.")] = None,
    department: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=ENTITY_ID_PATTERN, description="Department id.")
    ] = None,
    category: Annotated[Category | None, Query(description="Only concerns with this category.")] = None,
) -> Selection:
    """The caller's scope narrowed by the filters; 403 naming the filter that reaches beyond it."""
    try:
        chosen = select(principal, municipality=municipality, department=department, category=category)
    except OutOfScope as error:
        raise HTTPException(403, f"{error.field}: {error}") from None
    known = context.reference.departments.get(department or "")
    if known is not None and not chosen.allows_department(known.id, known.municipality_code):
        raise HTTPException(403, "department: outside the caller's scope")
    return chosen


PeriodDep = Annotated[Period, Depends(period)]
SelectionDep = Annotated[Selection, Depends(selection)]


async def connection(request: Request, _: SelectionDep, __: PeriodDep) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the pool for one request, taken only once auth, scope and filters passed.

    503 (retry shortly) while PostgreSQL is away.
    """
    pool: asyncpg.Pool = request.app.state.runtime.pool
    try:
        conn = await pool.acquire(timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
        raise HTTPException(
            503, "The statistics database is not reachable; try again shortly.", headers=RETRY
        ) from None
    try:
        yield conn
    finally:
        await pool.release(conn)


ConnectionDep = Annotated[asyncpg.Connection, Depends(connection)]
