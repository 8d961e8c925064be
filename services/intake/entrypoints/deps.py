"""Dependencies of intake's routes, as types: the handlers' Deps and the reference owner, wired by bootstrap."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from services.intake.handlers.deps import Deps
from services.intake.handlers.reference import ReferenceKeeper


def get_deps(request: Request) -> Deps:
    """The service's handlers' dependencies, wired by bootstrap."""
    deps: Deps = request.app.state.intake
    if not deps.directory.loaded:
        raise HTTPException(503, "Reference data is still loading; try again shortly.", headers={"Retry-After": "2"})
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]


@dataclass(frozen=True)
class ReferenceOwner:
    """What the reference routes need: the official municipality names and the keeper that publishes."""

    official_municipalities: dict[str, str]
    keeper: ReferenceKeeper


def reference_owner(request: Request) -> ReferenceOwner:
    """The owner wired by bootstrap."""
    return request.app.state.reference_owner


OwnerDep = Annotated[ReferenceOwner, Depends(reference_owner)]
