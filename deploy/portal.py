"""The portal as a process of the local stack: people log in through Keycloak and use the four services' APIs
with their own access token. Its small database `portal` (own role) holds server-side sessions only."""

import httpx

from deploy import keycloak, supervisor
from deploy.config import REPO, SERVICES, StackConfig, StackError, venv_bin
from deploy.services import crp, database_url
from deploy.supervisor_conf import Program

NAME = "portal"
PACKAGE = REPO / "services" / "portal"


def available() -> bool:
    """True when this checkout has the portal (the stack runs without it otherwise)."""
    return (PACKAGE / "__main__.py").is_file()


def port(cfg: StackConfig) -> int:
    """The portal's HTTP port: the base port itself (8000 for `make up`)."""
    return cfg.base_port


def environment(cfg: StackConfig, secrets: dict[str, str]) -> dict[str, str]:
    """The environment the portal runs with."""
    return {
        "SERVICE_NAME": NAME,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port(cfg)),
        "DATABASE_URL": database_url(cfg, secrets, NAME),
        **{f"{service.upper()}_URL": cfg.service_url(service) for service in SERVICES},
        "OIDC_ISSUER": keycloak.issuer(cfg),
        "OIDC_AUDIENCE": keycloak.AUDIENCE,
        "PORTAL_OIDC_CLIENT_ID": keycloak.CLIENT_ID,
        "PORTAL_OIDC_CLIENT_SECRET": secrets["PORTAL_OIDC_CLIENT_SECRET"],
        "PORTAL_URL": keycloak.portal_url(cfg),
        "PORTAL_SESSION_SECRET": secrets["PORTAL_SESSION_SECRET"],
        "LOCAL_DEV": "true",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "TRACE_DIR": str(cfg.home / "traces"),
    }


def program(cfg: StackConfig, secrets: dict[str, str]) -> Program:
    """The supervisord program; `up` starts it after the services."""
    return Program(
        name=NAME,
        command=[str(venv_bin() / "python"), "-m", f"services.{NAME}"],
        log=cfg.log(NAME),
        autostart=False,
        directory=REPO,
        environment=environment(cfg, secrets),
        stopwaitsecs=20,
        startsecs=1,
    )


def migrate(cfg: StackConfig, secrets: dict[str, str]) -> None:
    """The session table, when the portal brings migrations of its own (`crp migrate portal`)."""
    if (PACKAGE / "migrations").is_dir():
        crp("migrate", NAME, env=environment(cfg, secrets), what=f"migrating {NAME}")


def is_ready(cfg: StackConfig) -> bool:
    """True when the portal's /health/ready answers 200; a StackError when supervisord gave up on it."""
    if supervisor.states(cfg).get(NAME) in ("FATAL", "EXITED", "STOPPED"):
        raise StackError(f"the portal is not running; see {cfg.log(NAME)}")
    return httpx.get(f"{keycloak.portal_url(cfg)}/health/ready", timeout=3).status_code == 200
