"""The front page: a login button, or the person's own starting points."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.entrypoints.deps import SessionDep, render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, session: SessionDep) -> Response:
    """Anonymous: what the portal is and the login. Logged in: the pages of the person's role."""
    return render(request, "home.html")
