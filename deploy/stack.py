"""`python -m deploy.stack up|down|status|ctl`: the whole platform on this machine, no containers."""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deploy import keycloak, lifecycle, monitoring, portal, postgres, services, strays, supervisor
from deploy.config import REPO, SERVICES, StackConfig, StackError
from shared.console import make_console
from shared.console import table as wrapping_table

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = make_console()

Home = Annotated[Path, typer.Option("--home", envvar="STACK_HOME", help="State dir of this stack.")]
KafkaPort = Annotated[int, typer.Option(envvar="STACK_KAFKA_PORT", help="Kafka port; the controller gets +1.")]
PgPort = Annotated[int, typer.Option(envvar="STACK_PG_PORT", help="PostgreSQL port (embedded server).")]
BasePort = Annotated[int, typer.Option(envvar="STACK_BASE_PORT", help="Services listen on base+1..base+4.")]
Partitions = Annotated[int, typer.Option(envvar="TOPIC_PARTITIONS", help="Partitions per topic.")]
InfraOnly = Annotated[bool, typer.Option("--infra-only", envvar="STACK_INFRA_ONLY", help="Kafka and PostgreSQL only.")]
KafkaSasl = Annotated[
    bool,
    typer.Option(
        "--kafka-sasl/--no-kafka-sasl",
        envvar="KAFKA_SASL",
        help="Broker with SASL/SCRAM and ACLs, one principal per service and housing system (as in production).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(envvar="DATABASE_URL", help="Use this PostgreSQL server (admin URL) instead of the embedded one."),
]
DEFAULT_HOME = REPO / ".local"


def _config(home: Path, **options) -> StackConfig:
    """A StackConfig with an absolute home."""
    return StackConfig(home=home.expanduser().resolve(), **options)


def _addresses(cfg: StackConfig, with_services: bool) -> Table:
    """Where everything of a stack is."""
    # Addresses and paths are copied: they fold onto the next line in a narrow terminal, never end in "…".
    table = wrapping_table("what", "where", "more", title=f"Local stack in {cfg.home}")
    if with_services:
        if portal.available():
            table.add_row("portal", keycloak.portal_url(cfg), "log in as one of the demo people below")
        admin = f"admin console {keycloak.url(cfg)}/admin ({keycloak.BOOTSTRAP_ADMIN}, password in {cfg.secrets_file})"
        table.add_row("Keycloak", keycloak.url(cfg), f"realm {keycloak.REALM}; {admin}")
        for service in SERVICES:
            table.add_row(service, cfg.service_url(service), f"{cfg.service_url(service)}/docs")
        table.add_row("mail (SMTP sink)", f"127.0.0.1:{cfg.smtp_port}", f"e-mails as .eml files in {cfg.mail_dir}")
        table.add_row("Prometheus", monitoring.prometheus_url(cfg), "targets, alert rules (/alerts), queries")
        table.add_row("Alertmanager", monitoring.alertmanager_url(cfg), f"alerts by e-mail to {monitoring.ALERT_TO}")
    table.add_row("Kafka", cfg.bootstrap_servers, f"{cfg.partitions} partitions per topic")
    if cfg.database_url:
        table.add_row("PostgreSQL", "DATABASE_URL", "external server")
    else:
        table.add_row("PostgreSQL", f"127.0.0.1:{cfg.pg_port}", f"superuser {postgres.SUPERUSER}")
    if cfg.credentials_file.exists():
        table.add_row("demo clients", str(cfg.credentials_file), "API tokens, one client per role")
    table.add_row("secrets", str(cfg.secrets_file), "passwords and keys")
    table.add_row("environment", str(cfg.env_file), "KEY=VALUE for tests and tools")
    table.add_row("logs", str(cfg.logs), "one file per process")
    return table


def _people(cfg: StackConfig) -> Table | None:
    """The demo people who log in to the portal through Keycloak; their passwords stay in credentials.json."""
    if not cfg.credentials_file.exists():
        return None
    people = services.read_credentials(cfg.credentials_file)["people"]
    if not people:
        return None
    title = f'Demo people (passwords: {cfg.credentials_file}, under "people")'
    table = wrapping_table("username", "role", "scope", title=title)
    for username, person in people.items():
        municipality = [f"municipality {person['municipality']}"] if "municipality" in person else []
        table.add_row(username, person["role"], ", ".join(person.get("departments") or municipality) or "all")
    return table


def _fail(err: StackError) -> None:
    """Print a stack error and exit non-zero."""
    console.print(f"[bold red]error:[/] {err}", soft_wrap=True)
    raise typer.Exit(1)


@app.command()
def up(
    home: Home = DEFAULT_HOME,
    kafka_port: KafkaPort = 9092,
    pg_port: PgPort = 5432,
    base_port: BasePort = 8000,
    partitions: Partitions = 6,
    infra_only: InfraOnly = False,
    database_url: DatabaseUrl = None,
    kafka_sasl: KafkaSasl = True,
) -> None:
    """Start the stack (idempotent: parts that run are only checked for readiness)."""
    options = dict(kafka_port=kafka_port, pg_port=pg_port, base_port=base_port, partitions=partitions)
    options |= dict(kafka_sasl=kafka_sasl)
    cfg = _config(home, **options, infra_only=infra_only, database_url=database_url or None)
    started = time.monotonic()
    try:
        lifecycle.up(cfg, console)
    except StackError as err:
        _fail(err)
    console.print(_addresses(cfg, with_services=not infra_only))
    if not infra_only and (people := _people(cfg)):
        console.print(people)
    console.print(f"[green]up[/] in {time.monotonic() - started:.1f} s; stop it with `make down`.")


@app.command()
def down(home: Home = DEFAULT_HOME) -> None:
    """Stop every process of the stack; its data stays in the home dir."""
    cfg = _config(home)
    with console.status("Stopping"):
        was_running, strays = lifecycle.down(cfg)
    if strays:
        console.print(f"[yellow]ended {len(strays)} stray process(es):[/] {', '.join(map(str, strays))}")
    console.print("stopped" if was_running else "not running")


@app.command()
def status(home: Home = DEFAULT_HOME) -> None:
    """What runs, on which ports, and where the logs are."""
    cfg = lifecycle.load(_config(home))
    if not supervisor.is_running(cfg):
        leftovers = strays.find(cfg.home)
        note = f"; {len(leftovers)} stray process(es) left, `down` ends them" if leftovers else ""
        console.print(f"not running (home {cfg.home}){note}")
        return
    console.print(supervisor.ctl(cfg, "status", check=False).stdout.rstrip(), markup=False, highlight=False)
    running = supervisor.states(cfg)
    with_services = any(running.get(s) == "RUNNING" for s in SERVICES)
    console.print(_addresses(cfg, with_services=with_services))
    if with_services and (people := _people(cfg)):
        console.print(people)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ctl(ctx: typer.Context, home: Home = DEFAULT_HOME) -> None:
    """Pass the remaining arguments to supervisorctl for this stack (e.g. `ctl stop kafka`)."""
    result = supervisor.ctl(_config(home), *ctx.args, check=False)
    console.print((result.stdout + result.stderr).rstrip(), markup=False, highlight=False)
    raise typer.Exit(result.returncode)


if __name__ == "__main__":
    app()
