"""`crp`: the operator's command line (topics, migrations, API clients, dead letters, docs)."""

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer

from shared.auth.admin import new_client, publish_record, revoked
from shared.auth.follower import load_registry
from shared.auth.principal import Role
from shared.console import make_console, table
from shared.db.migrate import apply_migrations
from shared.kafka.admin import DAY_MS, INBOUND_RETENTION_DAYS, ensure_topics
from shared.kafka.config import security_config
from shared.kafka.dead_letter_tools import read_dead_letters, replay
from shared.kafka.security import grant

app = typer.Typer(help="Operate the concern-referral platform.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients (tokens are shown once; only hashes are stored).", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list, show, replay.", no_args_is_help=True)
docs_app = typer.Typer(help="Generated contract documents under docs/.", no_args_is_help=True)
demo_app = typer.Typer(help="The local demo stack (LOCAL_DEV only): move its clocks.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(clients_app, name="clients")
app.add_typer(dlq_app, name="dlq")
app.add_typer(docs_app, name="docs")
app.add_typer(demo_app, name="demo")
console = make_console()
ROOT = Path(__file__).resolve().parents[1]

LOCAL_STACK_ENV = ROOT / ".local" / "stack.env"


@app.callback()
def _local_stack_credentials() -> None:
    """Operate on the local stack: its broker requires the admin principal's credentials, which it keeps in
    .local/stack.env. Taken from there only when the environment names no broker and no credentials at all."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_SECURITY_PROTOCOL"):
        return
    if not LOCAL_STACK_ENV.exists():
        return
    for line in LOCAL_STACK_ENV.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_USERNAME", "KAFKA_PASSWORD"):
            os.environ.setdefault(name, value)


Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")]
Prefix = Annotated[str, typer.Option(envvar="TOPIC_PREFIX", help="Prefix of every topic name (isolated deployments).")]


@topics_app.command("ensure")
def topics_ensure(
    bootstrap: Bootstrap = "127.0.0.1:9092",
    partitions: Annotated[int, typer.Option(envvar="TOPIC_PARTITIONS", min=1)] = 6,
    replication_factor: Annotated[int, typer.Option(min=1)] = 1,
    prefix: Prefix = "",
    inbound_retention_days: Annotated[
        float,
        typer.Option(
            envvar="CONCERN_INBOUND_RETENTION_DAYS",
            min=0.01,
            help="How long concern-inbound and its dead letters keep raw payloads (set on existing topics too).",
        ),
    ] = INBOUND_RETENTION_DAYS,
) -> None:
    """Create the topics of DESIGN.md, their .dlq topics, api-clients and reference-data (existing ones are kept).

    With KAFKA_SECURITY_PROTOCOL=SASL_* (as the admin principal) it also grants each service's and housing
    system's ACLs for the prefix."""
    retention_ms = round(inbound_retention_days * DAY_MS)
    created = asyncio.run(ensure_topics(bootstrap, partitions, replication_factor, prefix, retention_ms))
    if security_config():
        asyncio.run(grant(bootstrap, prefix))
        console.print(f"ACLs granted for prefix '{prefix}'" if prefix else "ACLs granted")
    console.print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


@app.command("migrate")
def migrate(
    service: Annotated[str, typer.Argument(help="intake, routing, notify or stats")],
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL", help="The service's database.")],
) -> None:
    """Apply the shared and the service's own migrations to the service's database."""
    applied = apply_migrations(service, database_url)
    console.print(f"{service}: {len(applied)} migration(s) applied")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Who the client is, e.g. 'Holbæk Kommune, én indgang'.")],
    role: Annotated[Role, typer.Option(help="The client's role.")],
    bootstrap: Bootstrap = "127.0.0.1:9092",
    municipality: Annotated[str | None, typer.Option(help="Municipality code (role municipality).")] = None,
    department: Annotated[list[str] | None, typer.Option(help="Department id; repeat for several.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation id (role reporter).")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    prefix: Prefix = "",
) -> None:
    """Create an API client and print its token once."""
    try:
        issued = new_client(
            name=name,
            role=role,
            organisation_id=organisation,
            municipality_code=municipality,
            department_ids=department,
            expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    asyncio.run(publish_record(bootstrap, issued.record, topic_prefix=prefix))
    record = issued.record
    out: dict[str, object] = {"client_id": record.client_id, "name": record.name, "role": record.role}
    if record.municipality_code:
        out["municipality"] = record.municipality_code
    if record.department_ids:
        out["departments"] = record.department_ids
    if record.organisation_id:
        out["organisation"] = record.organisation_id
    out["token"] = issued.token
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
    else:
        console.print(f"created {record.client_id} ({record.role}); token, shown once:\n{issued.token}")


@clients_app.command("revoke")
def clients_revoke(client_id: str, bootstrap: Bootstrap = "127.0.0.1:9092", prefix: Prefix = "") -> None:
    """Revoke a client: its token stops working within seconds in every service."""
    registry = asyncio.run(load_registry(bootstrap, topic_prefix=prefix))
    record = registry.get(client_id)
    if record is None:
        raise typer.BadParameter(f"no client {client_id}")
    asyncio.run(publish_record(bootstrap, revoked(record), topic_prefix=prefix))
    console.print(f"revoked {client_id}")


@clients_app.command("list")
def clients_list(bootstrap: Bootstrap = "127.0.0.1:9092", prefix: Prefix = "") -> None:
    """List clients (never tokens)."""
    registry = asyncio.run(load_registry(bootstrap, topic_prefix=prefix))
    clients = table("client_id", "name", "role", "scope", "state")
    for r in registry.records():
        scope = r.municipality_code or ", ".join(r.department_ids) or r.organisation_id or "platform"
        clients.add_row(r.client_id, r.name, r.role, scope, "revoked" if r.revoked_at else "active")
    console.print(clients)


@dlq_app.command("list")
def dlq_list(
    topic: str,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    limit: int = 100,
    show_all: Annotated[bool, typer.Option("--all", help="Also the dead letters already replayed.")] = False,
) -> None:
    """List the dead letters of a topic not yet replayed: where each came from and why it was refused."""
    letters = asyncio.run(read_dead_letters(bootstrap, topic, limit=1_000_000))
    waiting = [d for d in letters if d.replayed_at is None]
    shown = (letters if show_all else waiting)[:limit]
    rows = table("partition:offset", "reason", "origin", "consumer", "failed at", "replayed")
    for d in shown:
        origin = f"{d.origin_topic}[{d.headers.get('dlq-origin-partition')}]@{d.headers.get('dlq-origin-offset')}"
        rows.add_row(
            d.position,
            d.reason,
            origin,
            d.headers.get("dlq-consumer", ""),
            d.headers.get("dlq-failed-at", ""),
            f"replayed {d.replayed_at}" if d.replayed_at else "",
        )
    console.print(rows)
    hidden = "" if show_all else f"; {len(letters) - len(waiting)} replayed not shown (--all shows them)"
    console.print(f"{len(waiting)} dead letter(s) not replayed{hidden}")


@dlq_app.command("show")
def dlq_show(
    topic: str,
    position: Annotated[str, typer.Argument(help="partition:offset, as `crp dlq list` prints it.")],
    bootstrap: Bootstrap = "127.0.0.1:9092",
    value: Annotated[bool, typer.Option(help="Also print the raw value (it may hold personal data).")] = False,
) -> None:
    """Show one dead letter's headers (and, on request, its bytes)."""
    letter = _find(bootstrap, topic, position)
    shown = {"partition": letter.partition, "offset": letter.offset, "replayed_at": letter.replayed_at}
    console.print_json(data={**shown, "headers": letter.headers})
    if value:
        typer.echo((letter.value or b"").decode(errors="replace"))


@dlq_app.command("replay")
def dlq_replay(
    topic: str,
    position: Annotated[list[str] | None, typer.Argument(help="partition:offset; none with --all.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter not yet replayed.")] = False,
    again: Annotated[bool, typer.Option("--again", help="Also letters already replayed.")] = False,
    bootstrap: Bootstrap = "127.0.0.1:9092",
) -> None:
    """Send dead letters back to their origin topic (after the consumer is fixed) and mark them replayed."""
    if replay_all == bool(position):
        raise typer.BadParameter("give partition:offset positions or --all, not both")
    letters = asyncio.run(read_dead_letters(bootstrap, topic, limit=1_000_000))
    if position:
        wanted = set(position)
        letters = [d for d in letters if d.position in wanted]
        unknown = wanted - {d.position for d in letters}
        if unknown:
            raise typer.BadParameter(f"no dead letter at {', '.join(sorted(unknown))}")
    skipped = [d for d in letters if d.replayed_at is not None and not again]
    letters = [d for d in letters if d.replayed_at is None or again]
    count = asyncio.run(replay(bootstrap, letters))
    done = f"; {len(skipped)} already replayed, left alone (--again replays them too)" if skipped else ""
    console.print(f"replayed {count} dead letter(s){done}")


def _find(bootstrap: str, topic: str, position: str):  # noqa: ANN202
    for letter in asyncio.run(read_dead_letters(bootstrap, topic, limit=1_000_000)):
        if f"{letter.partition}:{letter.offset}" == position:
            return letter
    raise typer.BadParameter(f"no dead letter at {position}")


@docs_app.command("generate")
def docs_generate() -> None:
    """Regenerate docs/schemas/*.json and docs/asyncapi.yaml from the contract models."""
    from shared.contracts.docgen import generate_docs

    written = generate_docs(ROOT)
    console.print(f"{len(written)} document(s) written")


@docs_app.command("check")
def docs_check() -> None:
    """Fail when the committed documents differ from the models."""
    from shared.contracts.docgen import stale_docs

    stale = stale_docs(ROOT)
    if stale:
        console.print("stale: " + ", ".join(stale) + " (run `make docs`)")
        raise typer.Exit(1)
    console.print("docs are up to date")


@demo_app.command("advance")
def demo_advance(
    working_days: Annotated[int, typer.Option(min=1, max=250, help="Danish working days the clocks move on.")],
    home: Annotated[Path, typer.Option(envvar="STACK_HOME", help="The local stack's home.")] = Path(".local"),
    local_dev: Annotated[
        bool, typer.Option(envvar="LOCAL_DEV", help="Off (LOCAL_DEV=false): refused. The local stack runs with it on.")
    ] = True,
) -> None:
    """Move the open referrals' clocks N working days on: reminders, breaches and escalations follow."""
    from shared.demo_clock import DemoClockRefused, LocalStack, advance, new_mails, summary

    if not local_dev:
        console.print("refused: LOCAL_DEV is off; the demo clock is for a local stack only")
        raise typer.Exit(1)

    async def run(stack: LocalStack) -> tuple[dict, int]:
        before = stack.mails()
        async with httpx.AsyncClient(timeout=60) as http:
            result = await advance(http, stack, working_days)
        fired = result["reminders"] + result["escalations"]
        return result, await new_mails(stack, before) if fired else 0

    try:
        stack = LocalStack.at(home.resolve())
        with console.status(f"moving the demo clocks {working_days} working day(s) on, waiting for the e-mails"):
            result, mails = asyncio.run(run(stack))
    except DemoClockRefused as error:
        console.print(f"refused: {error}")
        raise typer.Exit(1) from None
    console.print(summary(result), soft_wrap=True)
    console.print(
        f"{mails} e-mail(s) in {stack.mail_dir}; webhooks go to the subscribers, the counts to the dashboard",
        soft_wrap=True,
    )


@app.command("trace")
def trace(
    concern_id: Annotated[str, typer.Argument(help="The concern's id (a UUID).")],
    trace_dir: Annotated[
        Path | None, typer.Option(envvar="TRACE_DIR", help="The services' JSON-lines traces (default <home>/traces).")
    ] = None,
    home: Annotated[Path, typer.Option(envvar="STACK_HOME", help="The local stack's home.")] = Path(".local"),
) -> None:
    """Print the trace(s) of one concern as a tree: every hop's service, span, start offset and duration."""
    from shared.trace_view import read_spans, traces_of, tree_of

    directory = trace_dir or home / "traces"
    traces = traces_of(read_spans(directory), concern_id) if directory.is_dir() else {}
    if not traces:
        console.print(f"no trace of concern {concern_id} in {directory}")
        raise typer.Exit(1)
    for trace_id, spans in traces.items():
        console.print(tree_of(trace_id, spans))


if __name__ == "__main__":
    app()
