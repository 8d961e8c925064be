"""Bring a local stack up and down, in order, idempotently."""

import json
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from functools import partial

from rich.console import Console

from deploy import (
    broker,
    jars,
    keycloak,
    monitoring,
    portal,
    postgres,
    private_files,
    services,
    stack_secrets,
    strays,
    supervisor,
)
from deploy.config import SERVICES, StackConfig, StackError, write_private
from deploy.java import find_java
from deploy.supervisor_conf import Program, write_conf
from deploy.wait import wait_until
from shared.kafka import security

INFRA_TIMEOUT = 90
SERVICE_TIMEOUT = 90
PORTAL_TIMEOUT = 60
SAVED_CONFIG = "stack.json"


def _port_in_use(port: int) -> bool:
    """True when something already listens on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _check_ports_free(cfg: StackConfig) -> None:
    """Refuse to start when another process holds one of the stack's ports."""
    ports = {"Kafka": cfg.kafka_port, "the Kafka controller": cfg.controller_port}
    if cfg.embedded_postgres:
        ports["PostgreSQL"] = cfg.pg_port
    if not cfg.infra_only:
        ports |= {service: cfg.service_port(service) for service in SERVICES} | {"mail": cfg.smtp_port}
        ports |= {"Prometheus": monitoring.prometheus_port(cfg), "Alertmanager": monitoring.alertmanager_port(cfg)}
        ports |= {"Keycloak": keycloak.port(cfg)} | ({"the portal": portal.port(cfg)} if portal.available() else {})
    for what, port in ports.items():
        if _port_in_use(port):
            raise StackError(f"port {port} ({what}) is already in use; stop that process or choose other ports")


def _programs(cfg: StackConfig, secrets: dict[str, str], java: str, keycloak_java: str | None) -> list[Program]:
    """Every supervised process of the stack: infrastructure first, then the services (and the portal, once
    this checkout has it)."""
    programs = []
    if cfg.embedded_postgres:
        # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to disconnect.
        pg = Program(
            "postgres", postgres.command(cfg), cfg.log("postgres"), user=postgres.system_user(), stopsignal="INT"
        )
        programs.append(pg)
    kafka_log = cfg.log("kafka-console")  # the broker's own log4j2 log is kafka.log
    programs.append(Program("kafka", broker.command(cfg, java, jars.libs_dir()), kafka_log))
    if cfg.infra_only:
        return programs
    programs += [keycloak.program(cfg, secrets, keycloak_java), services.mail_program(cfg), *monitoring.programs(cfg)]
    programs += [services.program(cfg, secrets, s) for s in SERVICES]
    return programs + ([portal.program(cfg, secrets)] if portal.available() else [])


def _ensure_supervisord(cfg: StackConfig, programs: list[Program]) -> None:
    """Start supervisord with the current config, or make the running one pick up changes."""
    changed = write_conf(cfg, programs)
    if supervisor.is_running(cfg):
        if changed:
            supervisor.apply_conf(cfg)
        return
    strays.end(cfg.home, supervised_only=True)  # orphans of a supervisord that was killed would hold the ports
    _check_ports_free(cfg)
    supervisor.start_daemon(cfg)


def _unless_fatal(cfg: StackConfig, name: str, log: str, check: Callable[[], bool]) -> Callable[[], bool]:
    """`check`, but giving up at once when supervisord has given up on the program `name`."""

    def checked() -> bool:
        if supervisor.states(cfg).get(name) == "FATAL":
            raise StackError(f"{name} keeps exiting; see {log}")
        return check()

    return checked


def _wait_for_infra(cfg: StackConfig, secrets: dict[str, str]) -> None:
    """Wait until PostgreSQL and Kafka answer, within one shared deadline."""
    deadline = time.monotonic() + INFRA_TIMEOUT
    admin = postgres.admin_url(cfg, secrets)
    pg_log = str(cfg.log("postgres")) if cfg.embedded_postgres else "the server of DATABASE_URL"
    pg_ready = partial(postgres.is_ready, admin)
    if cfg.embedded_postgres:
        pg_ready = _unless_fatal(cfg, "postgres", pg_log, pg_ready)
    wait_until(pg_ready, timeout=INFRA_TIMEOUT, what="PostgreSQL", hint=pg_log)
    kafka_log = f"{cfg.log('kafka')} and {cfg.log('kafka-console')}"
    kafka_ready = _unless_fatal(cfg, "kafka", kafka_log, partial(broker.is_ready, cfg))
    wait_until(kafka_ready, timeout=max(deadline - time.monotonic(), 5), what="Kafka", hint=kafka_log)


def _start_services(cfg: StackConfig, secrets: dict[str, str], console: Console) -> list[dict]:
    """Topics, migrations, the four services, then the demo clients."""
    with console.status("Creating topics"):
        services.ensure_topics(cfg)
    with console.status("Migrating the databases"), ThreadPoolExecutor(len(SERVICES)) as pool:
        list(pool.map(partial(services.migrate, cfg, secrets), SERVICES))  # each database is separate
    services.register_service_accounts(cfg, secrets)
    with console.status("Waiting for Keycloak (its first start takes a minute or two)"):
        ready = _unless_fatal(cfg, "keycloak", str(cfg.log("keycloak")), partial(keycloak.is_ready, cfg))
        wait_until(ready, timeout=keycloak.READY_TIMEOUT, what="Keycloak", hint=str(cfg.log("keycloak")), interval=1)
    supervisor.start(cfg, "mail", *SERVICES)
    with console.status("Waiting for the services"):
        deadline = time.monotonic() + SERVICE_TIMEOUT
        for service in SERVICES:
            timeout = max(deadline - time.monotonic(), 5)
            ready = partial(services.is_ready, cfg, service)
            wait_until(ready, timeout=timeout, what=service, hint=str(cfg.log(service)))
    if portal.available():
        with console.status("Starting the portal"):
            portal.migrate(cfg, secrets)
            supervisor.start(cfg, portal.NAME)
            ready = partial(portal.is_ready, cfg)
            wait_until(ready, timeout=PORTAL_TIMEOUT, what="the portal", hint=str(cfg.log(portal.NAME)))
    supervisor.start(cfg, *monitoring.PROGRAMS)
    with console.status("Waiting for Prometheus and Alertmanager"):
        hint = f"{cfg.log('prometheus')} and {cfg.log('alertmanager')}"
        wait_until(partial(monitoring.is_ready, cfg), timeout=SERVICE_TIMEOUT, what="Prometheus", hint=hint)
    with console.status("Creating demo clients"):
        return services.demo_clients(cfg, secrets)


def _refuse_other_options(cfg: StackConfig) -> None:
    """A running stack keeps its ports; asking for others needs a `down` first."""
    running = load(cfg)
    if supervisor.is_running(cfg) and replace(running, infra_only=cfg.infra_only) != cfg:
        ports = f"kafka {running.kafka_port}, postgres {running.pg_port}, base {running.base_port}"
        raise StackError(f"the stack in {cfg.home} runs with other options ({ports}, ...); run `down` first")


def up(cfg: StackConfig, console: Console) -> None:
    """Start whatever part of the stack is not running, then check that all of it is ready.

    Everything it and supervisord (so every process of the stack) creates is private to the user."""
    with private_files.private_umask():
        _up(cfg, console)


def _up(cfg: StackConfig, console: Console) -> None:
    private_files.make_home(cfg)
    _refuse_other_options(cfg)
    secrets = stack_secrets.load_or_create(cfg.secrets_file)
    # This process (and the crp and supervisord it runs) sets the stack up as the operator's Kafka principal;
    # a plaintext stack ignores credentials inherited from another stack's stack.env.
    for name in broker.CLIENT_ENV:
        os.environ.pop(name, None)
    os.environ.update(broker.client_env(cfg, secrets, security.ADMIN_PRINCIPAL))
    with console.status("Fetching Kafka jars"):
        jars.fetch(on_download=lambda count, libs: console.print(f"downloading {count} Kafka jars into {libs}"))
    java = find_java(on_install=lambda pin: console.print(f"no Java >= 17 on PATH; installing {pin}"))
    keycloak_java = None
    if not cfg.infra_only:
        keycloak_java = str(keycloak.java_home())
        with console.status(f"Fetching Keycloak {keycloak.VERSION}"):
            keycloak.install(cfg, on_download=lambda url, to: console.print(f"downloading {url} into {to.parent}"))
        if keycloak.write_realm(cfg, secrets):
            console.print("the realm changed: Keycloak imports it again (its database starts afresh)")
            keycloak.reset(cfg)
    broker.write_config(cfg, secrets)
    if not cfg.infra_only:
        monitoring.write_configs(cfg)
    with console.status("Preparing Kafka and PostgreSQL storage"):
        broker.format_storage(cfg, java, jars.libs_dir(), secrets)
        if cfg.embedded_postgres and postgres.prepare(cfg, secrets["postgres_password"]):
            cfg.credentials_file.unlink(missing_ok=True)  # a new cluster knows none of the old demo clients
    _ensure_supervisord(cfg, _programs(cfg, secrets, java, keycloak_java))
    save(cfg)
    # Keycloak starts with the infrastructure: its slow first start overlaps theirs, the topics and migrations.
    keycloak_program = [] if cfg.infra_only else ["keycloak"]
    supervisor.start(cfg, *(["postgres"] if cfg.embedded_postgres else []), "kafka", *keycloak_program)
    with console.status("Waiting for PostgreSQL and Kafka"):
        _wait_for_infra(cfg, secrets)
        broker.ensure_principals(cfg, secrets)
        postgres.ensure_databases(postgres.admin_url(cfg, secrets), secrets)
    if not cfg.infra_only:
        _start_services(cfg, secrets, console)
    services.write_env_file(cfg, secrets)


def down(cfg: StackConfig) -> tuple[bool, list[int]]:
    """Stop supervisord and all it runs, then end any stray process of the stack; what was running."""
    was_running = supervisor.shutdown(cfg)
    return was_running, strays.end(cfg.home)


def save(cfg: StackConfig) -> None:
    """Remember the options of the last `up`, for `status` and `down`."""
    values = asdict(cfg) | {"home": str(cfg.home)}
    write_private(cfg.home / SAVED_CONFIG, json.dumps(values, indent=2) + "\n")


def load(cfg: StackConfig) -> StackConfig:
    """The options of the last `up` in this home, or `cfg` when there was none."""
    path = cfg.home / SAVED_CONFIG
    if not path.exists():
        return cfg
    values = json.loads(path.read_text()) | {"home": cfg.home}
    return StackConfig(**values)
