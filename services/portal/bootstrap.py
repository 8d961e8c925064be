"""The composition root of the portal: settings, the session table, the provider, the services' clients, pages."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from services.portal.adapters.oidc import OidcProvider
from services.portal.adapters.services_api import ServicesClient
from services.portal.adapters.sessions import Sealer, SessionStore
from services.portal.entrypoints import api
from services.portal.entrypoints.deps import PortalContext
from services.portal.entrypoints.errors import install_error_pages
from services.portal.entrypoints.security import SecurityHeaders
from services.portal.settings import PortalSettings
from shared.db.migrate import apply_migrations
from shared.db.pool import create_pool
from shared.logging import configure_logging, get_logger

log = get_logger(__name__)
HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
PURGE_EVERY_S = 300
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")  # fmt: skip


def danish_datetime(value: str | datetime | None, with_time: bool = True) -> str:
    """`2026-12-04T01:30:05Z` as "4. december 2026 kl. 02.30" (Danish time)."""
    if value in (None, ""):
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(COPENHAGEN)
    text = f"{local.day}. {MONTHS[local.month - 1]} {local.year}"
    return f"{text} kl. {local:%H.%M}" if with_time else text


def templates() -> Jinja2Templates:
    """The page templates (autoescaped), with the portal's filters."""
    found = Jinja2Templates(directory=str(TEMPLATES))
    found.env.filters["dato"] = danish_datetime
    found.env.trim_blocks = True
    found.env.lstrip_blocks = True
    return found


async def _purge(sessions: SessionStore) -> None:
    while True:
        await asyncio.sleep(PURGE_EVERY_S)
        try:
            await sessions.purge_expired()
        except Exception as error:  # noqa: BLE001 - the database is away; next time
            log.warning("portal_session_purge_failed", error=type(error).__name__)


def build_app(settings: PortalSettings) -> FastAPI:
    """The portal as an ASGI app; its lifespan owns the pool, the provider and the services' clients."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(apply_migrations, "portal", settings.database_url.get_secret_value())
        pool = await create_pool(settings)  # type: ignore[arg-type] - the fields create_pool reads are here
        secret = (settings.portal_session_secret or settings.portal_oidc_client_secret).get_secret_value()
        sessions = SessionStore(
            pool, Sealer(secret), idle_s=settings.portal_session_idle_s, max_s=settings.portal_session_max_s
        )
        services = ServicesClient(
            {
                "intake": settings.intake_url,
                "routing": settings.routing_url,
                "notify": settings.notify_url,
                "stats": settings.stats_url,
            },
            timeout=settings.service_timeout_s,
        )
        oidc = OidcProvider(
            settings.oidc_issuer,
            settings.portal_oidc_client_id,
            settings.portal_oidc_client_secret.get_secret_value(),
            settings.redirect_uri,
            scope=settings.portal_oidc_scope,
        )
        app.state.pool = pool
        app.state.portal = PortalContext(settings, sessions, oidc, services, templates())
        purger = asyncio.create_task(_purge(sessions), name="portal-session-purge")
        try:
            yield
        finally:
            purger.cancel()
            await services.aclose()
            await pool.close()

    app = FastAPI(title="Portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    install_error_pages(app)
    for router in api.routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(SecurityHeaders, issuer_origin=settings.issuer_origin, https=settings.secure_cookies)
    return app


def main() -> None:
    """Run the portal until SIGTERM; logs are JSON lines on stdout."""
    settings = PortalSettings()
    configure_logging(settings.service_name, settings.log_level)
    # httpx logs every request's URL at INFO: receipt codes and referral ids are in those paths.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    log.info("service_starting", port=settings.http_port)
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
