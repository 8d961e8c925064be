"""Every refusal as a Danish page (never a JSON error or a stack trace in the browser)."""

from urllib.parse import quote

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal.adapters.services_api import ApiError, ServiceUnavailable
from services.portal.entrypoints.deps import CsrfFailed, Forbidden, LoginRequired, render
from shared.logging import get_logger

log = get_logger(__name__)

PAGES = {
    400: ("Forespørgslen kunne ikke læses", "Adressen eller formularen indeholder noget, vi ikke kan bruge."),
    403: ("Du har ikke adgang til siden", "Din rolle giver ikke adgang til denne side."),
    404: (
        "Siden findes ikke",
        "Vi kan ikke finde det, du leder efter. Måske er adressen forkert, eller også har du ikke adgang til det.",
    ),
    405: ("Det kan man ikke her", "Siden kan ikke bruges på den måde."),
    409: ("Det kunne ikke lade sig gøre", "Det, du prøvede, passer ikke med, hvordan sagen står nu."),
    413: ("Formularen er for stor", "Der er for meget tekst i formularen. Gør teksten kortere og prøv igen."),
    429: ("For mange forsøg", "Vent lidt, og prøv så igen."),
    500: ("Der skete en fejl", "Noget gik galt hos os. Prøv igen om lidt."),
    502: ("Der skete en fejl", "En af platformens tjenester svarede ikke som forventet. Prøv igen om lidt."),
    503: ("Tjenesten svarer ikke lige nu", "En af platformens tjenester er ikke tilgængelig. Prøv igen om lidt."),
}


def error_page(request: Request, status: int, message: str | None = None, title: str | None = None) -> Response:
    """The Danish page of a status."""
    default_title, default_message = PAGES.get(status, PAGES[500])
    return render(request, "error.html", {"title": title or default_title, "message": message or default_message},
                  status)  # fmt: skip


def install_error_pages(app: FastAPI) -> None:
    """Handlers for the portal's own refusals, the services' refusals and Starlette's."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse("/auth/login?next=" + quote(error.next_path, safe="/?=&"), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, error: Forbidden) -> Response:
        return error_page(request, 403)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, error: CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "Formularen kunne ikke sendes, fordi sikkerhedskoden mangler eller er forældet. Gå tilbage, genindlæs "
            "siden og send igen.",
            "Formularen blev afvist",
        )

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, error: ServiceUnavailable) -> Response:
        log.warning("portal_service_unavailable", service=error.service)
        return error_page(request, 503)

    @app.exception_handler(ApiError)
    async def _api(request: Request, error: ApiError) -> Response:
        if error.status in (403, 404, 409, 429):
            return error_page(request, error.status)
        log.warning("portal_service_refused", status=error.status)
        return error_page(request, 502)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        return error_page(request, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        return error_page(request, error.status_code if error.status_code in PAGES else 500)

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> Response:
        if isinstance(error, (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)):
            log.warning("portal_session_database_unavailable", error=type(error).__name__)
            return error_page(request, 503)
        log.error("portal_unhandled_error", error=type(error).__name__)
        return error_page(request, 500)
