"""Login, callback and logout: OpenID Connect authorization code + PKCE through the provider's own pages."""

import hmac
import re
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal.adapters.oidc import LoginFailed, token_expiry
from services.portal.domain.person import person_from_claims
from services.portal.entrypoints.deps import CheckedForm, PortalDep, SessionDep, render
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/auth", include_in_schema=False)
SAFE_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$")
"""A path (and query) of this origin: no scheme, no backslash, no whitespace or control characters (a browser drops
tabs and newlines from a URL, so `/\t/evil.example` would become `//evil.example`)."""
LOGIN_COOKIE = "portal_login"
"""Holds the id of the login in progress (its own short session row), only on /auth paths."""


def safe_next(value: str | None) -> str:
    """A path on this origin to return to after login; anything else (another origin, `//x`) is the front page."""
    if not value or not SAFE_PATH.match(value) or value.startswith("//"):
        return "/"
    return value


def _cookie(response: Response, context: PortalDep, name: str, value: str, path: str = "/") -> None:
    response.set_cookie(name, value, path=path, httponly=True, samesite="lax", secure=context.settings.secure_cookies)


@router.get("/login")
async def login(request: Request, context: PortalDep, session: SessionDep, next: str | None = None) -> Response:
    """Start a login: a fresh state, nonce and PKCE verifier in a short login session, then off to the provider."""
    target = safe_next(next)
    if session is not None and session.authenticated:
        return RedirectResponse(target, status_code=303)
    try:
        started = await context.oidc.start_login()
    except Exception as error:  # noqa: BLE001 - the provider is away: say so, in Danish
        log.warning("portal_login_provider_unavailable", error=type(error).__name__)
        return render(request, "error.html", {"title": "Login er ikke muligt lige nu",
                      "message": "Login-tjenesten svarer ikke. Prøv igen om lidt."}, 503)  # fmt: skip
    pending = await context.sessions.create(
        login={"state": started.state, "nonce": started.nonce, "code_verifier": started.code_verifier, "next": target},
        lifetime=timedelta(seconds=context.settings.portal_login_timeout_s),
    )
    response = RedirectResponse(started.url, status_code=303)
    _cookie(response, context, LOGIN_COOKIE, pending.raw_id, path="/auth")
    return response


def _login_failed(request: Request, status: int = 400) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": "Login mislykkedes",
            "message": "Vi kunne ikke logge dig ind. Det kan skyldes, at login tog for lang tid, eller at du "
            "afbrød det.",
            "retry_login": True,
        },
        status,
    )


@router.get("/callback")
async def callback(
    request: Request,
    context: PortalDep,
    session: SessionDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """The provider sends the person back: check the state, exchange the code, check the ID token, new session."""
    pending_id = request.cookies.get(LOGIN_COOKIE)
    pending = await context.sessions.load(pending_id) if pending_id else None
    if pending is not None:
        await context.sessions.delete(pending.raw_id)  # a login's state is used once
    login = pending.login if pending is not None else None
    if error or not code or not state or not login or not hmac.compare_digest(state, str(login.get("state", ""))):
        log.info("portal_login_refused", reason="provider_error" if error else "state")
        response = _login_failed(request)
        response.delete_cookie(LOGIN_COOKIE, path="/auth")
        return response
    try:
        token, claims = await context.oidc.finish_login(
            code=code, code_verifier=login["code_verifier"], nonce=login["nonce"]
        )
    except LoginFailed as failure:
        log.warning("portal_login_failed", reason=str(failure))
        response = _login_failed(request)
        response.delete_cookie(LOGIN_COOKIE, path="/auth")
        return response
    person = person_from_claims(claims)
    if session is not None:
        await context.sessions.delete(session.raw_id)
    fresh = await context.sessions.create(
        person=person,
        tokens={
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token"),
            "id_token": token.get("id_token"),
            "expires_at": token_expiry(token),
        },
    )
    request.state.session = fresh
    log.info("portal_login", role=person.role)
    response = RedirectResponse(safe_next(login.get("next")), status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    _cookie(response, context, context.settings.portal_cookie_name, fresh.raw_id)
    return response


@router.post("/logout")
async def logout(request: Request, context: PortalDep, session: SessionDep, form: CheckedForm) -> Response:
    """End the portal's session, then the provider's (its end-session endpoint brings the person back to /)."""
    id_token = session.tokens.get("id_token") if session is not None else None
    if session is not None:
        await context.sessions.delete(session.raw_id)
    target = await context.oidc.end_session_url(
        id_token=id_token, post_logout_redirect_uri=context.settings.base_url + "/"
    )
    response = RedirectResponse(target or "/", status_code=303)
    response.delete_cookie(context.settings.portal_cookie_name, path="/")
    return response
