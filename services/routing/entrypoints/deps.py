"""Dependencies of routing's routes, as types: the handlers' Deps, wired by bootstrap."""

from typing import Annotated

from fastapi import Depends, Request

from services.routing.handlers.deps import Deps


def deps_of(request: Request) -> Deps:
    """The handlers' dependencies, wired by the lifespan."""
    return request.app.state.deps


DepsDep = Annotated[Deps, Depends(deps_of)]
