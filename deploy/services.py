"""The four services as processes: their environment, the crp steps before they start, their readiness."""

import asyncio
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

from deploy import broker, keycloak, monitoring, postgres, supervisor
from deploy.config import REPO, SERVICES, StackConfig, StackError, venv_bin, write_private
from deploy.supervisor_conf import Program
from shared.auth.admin import publish_record
from shared.auth.tokens import token_hash
from shared.contracts.clients import ApiClientRecord
from shared.kafka import security

DEMO_CLIENTS = Path(__file__).parent / "demo" / "clients.yaml"
REFERENCE_FILE = REPO / "services" / "intake" / "reference" / "organisations.yaml"
"""intake's reference directory: who serves which department (the one source; no copy here)."""


def departments_served(recipient_id: str, reference_file: Path = REFERENCE_FILE) -> list[str]:
    """The departments whose consultants or associations include the recipient, in the directory's order."""
    organisations = yaml.safe_load(reference_file.read_text(encoding="utf-8"))["organisations"]
    return [
        d["id"]
        for o in organisations
        for d in o["departments"]
        if recipient_id in (d.get("consultants") or []) + (d.get("associations") or [])
    ]


def database_url(cfg: StackConfig, secrets: dict[str, str], service: str) -> str:
    """The URL of `service`'s own database, as its own role."""
    return postgres.service_url(postgres.admin_url(cfg, secrets), service, secrets[f"{service}_password"])


def environment(cfg: StackConfig, secrets: dict[str, str], service: str) -> dict[str, str]:
    """The environment a service process runs with."""
    return (
        {
            "SERVICE_NAME": service,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(cfg.service_port(service)),
            "DATABASE_URL": database_url(cfg, secrets, service),
            "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap_servers,
            "SUBJECT_KEY_SECRET": secrets["SUBJECT_KEY_SECRET"],
            "MASTER_KEY": secrets["MASTER_KEY"],
            "TOPIC_PARTITIONS": str(cfg.partitions),
            "LOCAL_DEV": "true",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # One trace per concern, as JSON lines per service (shared/tracing.py); `crp trace <concern id>` reads them.
            "TRACE_DIR": str(cfg.home / "traces"),
        }
        | broker.client_env(cfg, secrets, service)
        | oidc_environment(cfg)
        | (_notify_environment(cfg, secrets) if service == "notify" else {})
    )


def oidc_environment(cfg: StackConfig) -> dict[str, str]:
    """Where people's access tokens come from and whom they are for: the stack's Keycloak (none infra-only)."""
    if cfg.infra_only:
        return {}
    return {"OIDC_ISSUER": keycloak.issuer(cfg), "OIDC_AUDIENCE": keycloak.AUDIENCE}


def _notify_environment(cfg: StackConfig, secrets: dict[str, str]) -> dict[str, str]:
    """notify mails through the stack's mail sink and reads reporter contacts from intake as its service account."""
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(cfg.smtp_port),
        "INTAKE_URL": cfg.service_url("intake"),
        "INTAKE_TOKEN": secrets["NOTIFY_INTAKE_TOKEN"],
        "PUBLIC_INTAKE_URL": cfg.service_url("intake"),
        "PUBLIC_ROUTING_URL": cfg.service_url("routing"),
    }


NOTIFY_SERVICE_CLIENT = "cli_notify-service"


def register_service_accounts(cfg: StackConfig, secrets: dict[str, str]) -> None:
    """Put notify's service account on the api-clients topic (the same record each time: harmless to repeat)."""
    token = secrets["NOTIFY_INTAKE_TOKEN"]
    record = ApiClientRecord(
        client_id=NOTIFY_SERVICE_CLIENT,
        name="notify (service account: reporter receipts)",
        role="admin",
        token_sha256=token_hash(token),
        created_at=datetime.now(UTC),
    )
    asyncio.run(publish_record(cfg.bootstrap_servers, record))


def mail_program(cfg: StackConfig) -> Program:
    """The SMTP sink that stands in for the organisation's mail server on this machine."""
    command = [str(venv_bin() / "python"), "-m", "deploy.mailsink", "--directory", str(cfg.mail_dir)]
    return Program("mail", [*command, "--port", str(cfg.smtp_port)], cfg.log("mail"), autostart=False, directory=REPO)


def program(cfg: StackConfig, secrets: dict[str, str], service: str) -> Program:
    """The supervisord program of a service; `up` starts it once its topics and tables exist."""
    return Program(
        name=service,
        command=[str(venv_bin() / "python"), "-m", f"services.{service}"],
        log=cfg.log(service),
        autostart=False,
        directory=REPO,
        environment=environment(cfg, secrets, service),
        stopwaitsecs=20,
        startsecs=1,  # `supervisorctl start` waits this long per service; readiness is checked on /readyz
    )


def crp(*args: str, env: dict[str, str], what: str) -> str:
    """Run the project CLI with `env` on top of ours; its stdout, or a StackError saying what failed."""
    cmd = [str(venv_bin() / "crp"), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | env, cwd=REPO, timeout=300)  # noqa: S603
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise StackError(f"{what} failed (`crp {' '.join(args[:2])}`, exit {result.returncode}):\n{output}")
    return result.stdout


def ensure_topics(cfg: StackConfig) -> None:
    """Create the platform's topics (and their dead-letter topics) with the configured partitions."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap_servers, "TOPIC_PARTITIONS": str(cfg.partitions)}
    crp("topics", "ensure", "--partitions", str(cfg.partitions), env=env, what="creating topics")


def migrate(cfg: StackConfig, secrets: dict[str, str], service: str) -> None:
    """Bring `service`'s database schema up to date."""
    crp("migrate", service, env=environment(cfg, secrets, service), what=f"migrating {service}")


def is_ready(cfg: StackConfig, service: str) -> bool:
    """True when the service's /readyz answers 200; a StackError when supervisord gave up on it."""
    if supervisor.states(cfg).get(service) in ("FATAL", "EXITED", "STOPPED"):
        raise StackError(f"{service} is not running; see {cfg.log(service)}")
    return httpx.get(f"{cfg.service_url(service)}/readyz", timeout=3).status_code == 200


def _create_args(client: dict) -> list[str]:
    """`crp clients create` arguments for one entry of clients.yaml."""
    args = ["clients", "create", "--name", client["name"], "--role", client["role"], "--json"]
    if "municipality" in client:
        args += ["--municipality", str(client["municipality"])]
    if "organisation" in client:
        args += ["--organisation", client["organisation"]]
    departments = departments_served(client["serves"]) if "serves" in client else client.get("departments", [])
    for department in departments:
        args += ["--department", department]
    return args


def _parse_client(stdout: str, name: str) -> dict:
    """The JSON object `crp clients create --json` printed (whole output, else its last JSON line)."""
    text = stdout.strip()
    for candidate in [text, *reversed(text.splitlines())]:
        try:
            created = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(created, dict) and created.get("token"):
            return created
    raise StackError(f"`crp clients create` printed no client with a token for {name}")


def read_credentials(path: Path) -> dict:
    """credentials.json as {"clients": [API clients], "people": {username: {...}}} (a file of an older stack,
    a bare list of clients, reads as the clients)."""
    if not path.exists():
        return {"clients": [], "people": {}}
    stored = json.loads(path.read_text())
    if isinstance(stored, list):
        return {"clients": stored, "people": {}}
    return {"clients": stored.get("clients", []), "people": stored.get("people", {})}


def demo_clients(cfg: StackConfig, secrets: dict[str, str]) -> list[dict]:
    """The demo API clients: read from credentials.json, or created once from clients.yaml and stored there;
    beside them, under "people", the demo people who log in to the portal (passwords from the stack secrets)."""
    stored = read_credentials(cfg.credentials_file)
    created = stored["clients"]
    if not created:
        env = environment(cfg, secrets, "intake") | broker.client_env(cfg, secrets, security.ADMIN_PRINCIPAL)

        def create(client: dict) -> dict:
            stdout = crp(*_create_args(client), env=env, what=f"creating demo client {client['name']}")
            return _parse_client(stdout, client["name"])

        with ThreadPoolExecutor(4) as pool:
            created = list(pool.map(create, yaml.safe_load(DEMO_CLIENTS.read_text())["clients"]))
    credentials = {"clients": created, "people": keycloak.people_credentials(secrets)}
    text = json.dumps(credentials, indent=2, ensure_ascii=False) + "\n"
    if not cfg.credentials_file.exists() or cfg.credentials_file.read_text() != text:
        write_private(cfg.credentials_file, text)
    return created


def write_env_file(cfg: StackConfig, secrets: dict[str, str]) -> None:
    """<home>/stack.env: the addresses and secrets that tests and tools need, as KEY=VALUE lines."""
    values = {
        "STACK_HOME": str(cfg.home),
        "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap_servers,
        "TOPIC_PARTITIONS": str(cfg.partitions),
        "ADMIN_DATABASE_URL": postgres.admin_url(cfg, secrets),
        "SUBJECT_KEY_SECRET": secrets["SUBJECT_KEY_SECRET"],
        "MASTER_KEY": secrets["MASTER_KEY"],
        "CREDENTIALS_FILE": str(cfg.credentials_file),
    }
    if not cfg.infra_only:
        values |= {
            "PROMETHEUS_URL": monitoring.prometheus_url(cfg),
            "ALERTMANAGER_URL": monitoring.alertmanager_url(cfg),
            "MAIL_DIR": str(cfg.mail_dir),
            "KEYCLOAK_URL": keycloak.url(cfg),
            **oidc_environment(cfg),
            "PORTAL_OIDC_CLIENT_ID": keycloak.CLIENT_ID,
            "PORTAL_OIDC_CLIENT_SECRET": secrets["PORTAL_OIDC_CLIENT_SECRET"],
            "PORTAL_URL": keycloak.portal_url(cfg),
            "PORTAL_DATABASE_URL": database_url(cfg, secrets, "portal"),
        }
    if cfg.kafka_sasl:  # tests and tools act as the operator; each service's and housing system's own principal too
        values |= broker.client_env(cfg, secrets, security.ADMIN_PRINCIPAL)
        for principal in security.principals():
            values[f"KAFKA_PASSWORD_{principal.upper().replace('-', '_')}"] = secrets[broker.password_key(principal)]
    for service in SERVICES:
        values[f"{service.upper()}_DATABASE_URL"] = database_url(cfg, secrets, service)
        values[f"{service.upper()}_URL"] = cfg.service_url(service)
    write_private(cfg.env_file, "".join(f"{key}={value}\n" for key, value in values.items()))
