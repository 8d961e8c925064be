"""What every page handler takes: the session, the logged-in person and their token, the CSRF-checked form.

Handlers declare what they need as types:

    async def page(viewer: ViewerDep): ...                               # anyone logged in
    async def page(viewer: Annotated[Viewer, Depends(require_person("consultant"))]): ...
    async def action(viewer: ..., form: CheckedForm): ...                # a POST: CSRF checked, form parsed

A request without a session is sent to the login (and back afterwards); a person of another role gets the Danish
403 page; a POST whose form lacks the session's CSRF token gets the Danish 403 page and changes nothing.
"""

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn
from urllib.parse import parse_qsl, quote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from services.portal.adapters.oidc import OidcProvider, RefreshFailed, token_expiry
from services.portal.adapters.services_api import ApiError, NotAuthenticated, ServiceApi, ServicesClient
from services.portal.adapters.sessions import Session, SessionStore
from services.portal.domain.person import Person
from services.portal.entrypoints.nav import nav_for
from services.portal.settings import PortalSettings

REFRESH_MARGIN_S = 30
"""An access token this close to its expiry is refreshed before it is used."""
MAX_FORM_BYTES = 64 * 1024
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No live session (or its tokens stopped working): go to the login and come back to `next`."""

    def __init__(self, next_path: str = "/") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """The person's role may not see this page."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token."""


@dataclass
class PortalContext:
    """What the lifespan opens: the session table, the provider, the services' clients, the templates."""

    settings: PortalSettings
    sessions: SessionStore
    oidc: OidcProvider
    services: ServicesClient
    templates: Jinja2Templates
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    """Small, non-personal answers kept a while (the guidance texts): key -> (stored at, value)."""

    async def cached(self, key: str, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """`load()`'s value, kept `ttl_s` seconds. Only for data that is the same for everyone."""
        hit = self.cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
        value = await load()
        self.cache[key] = (time.monotonic(), value)
        return value


def portal(request: Request) -> PortalContext:
    return request.app.state.portal


PortalDep = Annotated[PortalContext, Depends(portal)]


def _path_with_query(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


async def current_session(request: Request, context: PortalDep) -> Session | None:
    """The live session of the request's cookie, or None (loaded once per request)."""
    if "session" not in request.state._state:
        raw = request.cookies.get(context.settings.portal_cookie_name)
        request.state.session = await context.sessions.load(raw) if raw else None
    return request.state.session


SessionDep = Annotated[Session | None, Depends(current_session)]


@dataclass
class Viewer:
    """The logged-in person on this request, with their access token at hand (refreshed when it expires)."""

    request: Request
    context: PortalContext
    session: Session
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def person(self) -> Person:
        assert self.session.person is not None
        return self.session.person

    @property
    def role(self) -> str | None:
        return self.person.role

    async def token(self, *, stale: str | None = None) -> str:
        """The person's access token; refreshed with the refresh token when it is (nearly) expired, or when it is
        `stale` (a service refused it). Calls made side by side on one page refresh once."""
        async with self._refreshing:
            tokens = self.session.tokens
            expired = float(tokens.get("expires_at") or 0) - REFRESH_MARGIN_S <= time.time()
            if expired or (stale is not None and tokens.get("access_token") == stale):
                await self._refresh()
            return str(tokens["access_token"])

    async def _refresh(self) -> None:
        tokens = self.session.tokens
        refresh_token = tokens.get("refresh_token")
        if not refresh_token:
            await self._end()
        try:
            fresh = await self.context.oidc.refresh(refresh_token)
        except RefreshFailed:
            await self._end()
        tokens.update(
            access_token=fresh["access_token"],
            refresh_token=fresh.get("refresh_token") or refresh_token,
            id_token=fresh.get("id_token") or tokens.get("id_token"),
            expires_at=token_expiry(fresh),
        )
        await self.context.sessions.save(self.session)

    async def _end(self) -> NoReturn:
        await self.context.sessions.delete(self.session.raw_id)
        self.request.state.session = None
        raise LoginRequired(_path_with_query(self.request) if self.request.method == "GET" else "/")

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """One of the four services' answers (JSON body) on the person's behalf.

        A 401 gets one refresh and one more try; a second 401 after a refresh the provider granted is the service
        not trusting the provider (a 502 page, not another login, which would loop). ApiError (a refusal with its
        problem+json) and ServiceUnavailable propagate: a page catches the ones it can explain, the app's handlers
        the rest.
        """
        api: ServiceApi = getattr(self.context.services, service)
        token = await self.token()
        try:
            return (await api.request(method, path, token, **kwargs)).body
        except NotAuthenticated:
            pass
        try:
            return (await api.request(method, path, await self.token(stale=token), **kwargs)).body
        except NotAuthenticated:
            raise ApiError(401, {"detail": f"{service} refused the person's fresh access token"}) from None

    async def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.call(service, "GET", path, **kwargs)

    async def post(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.call(service, "POST", path, **kwargs)

    def render(self, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        """A page for this person (layout, navigation, CSRF token filled in)."""
        return render(self.request, template, context, status_code)


def require_person(*roles: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency admitting a logged-in person of one of `roles` (any role when none are given)."""

    async def dependency(request: Request, context: PortalDep, session: SessionDep) -> Viewer:
        if session is None or not session.authenticated:
            raise LoginRequired(_path_with_query(request) if request.method == "GET" else "/")
        if roles and (session.person is None or session.person.role not in roles):
            raise Forbidden()
        return Viewer(request, context, session)

    return dependency


ViewerDep = Annotated[Viewer, Depends(require_person())]


async def posted_form(request: Request) -> FormData:
    """The urlencoded form of a POST (at most 64 KiB), parsed once per request."""
    if "form" not in request.state._state:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise HTTPException(413)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        pairs = (
            parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            if content_type in ("application/x-www-form-urlencoded", "")
            else []
        )
        request.state.form = FormData(pairs)
    return request.state.form


async def checked_form(
    request: Request, session: SessionDep, form: Annotated[FormData, Depends(posted_form)]
) -> FormData:
    """The POSTed form once its CSRF token matches the session's (403 otherwise, nothing done)."""
    sent = form.get(CSRF_FIELD)
    if session is None or not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfFailed()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """Render a page inside the layout; works with or without a session (error pages, the front page)."""
    portal_context: PortalContext = request.app.state.portal
    session: Session | None = request.state._state.get("session")
    person = session.person if session is not None and session.authenticated else None
    values = {
        "person": person,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": nav_for(person.role if person else None),
        "current_path": request.url.path,
        "login_url": "/auth/login?next=" + quote(_path_with_query(request), safe="/"),
        **(context or {}),
    }
    return portal_context.templates.TemplateResponse(request, template, values, status_code=status_code)
