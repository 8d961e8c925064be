"""`python -m services.stats [serve|rebuild]`: run the service, or rebuild its projections from the topics."""

import asyncio
import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.stats.adapters.rebuild import RebuildRunning, rebuild
from services.stats.settings import StatsSettings
from shared.contracts.topics import CONCERN_EVENTS, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.logging import configure_logging

app = typer.Typer(add_completion=False, help="The stats service: projections, stats API and dashboard.")
console = Console(stderr=True)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """Without a command: run the service (HTTP API, dashboard and Faust worker)."""
    if ctx.invoked_subcommand is None:
        serve()


@app.command()
def serve() -> None:
    """Run the service until SIGTERM."""
    from services.stats.bootstrap import main as run

    run()


@app.command("rebuild")
def rebuild_command() -> None:
    """Replay concern-, referral- and notification-events from the start into fresh projections, then swap.

    The live service may keep running: it pauses for the swap only (the projection lock), and afterwards
    goes on from the rebuilt tables and their inbox, so no event is lost or counted twice.
    """
    settings = StatsSettings()
    configure_logging("stats-rebuild", "WARNING")
    topics = [settings.topic(t) for t in (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS)]
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]replaying[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("replay", total=None)
        try:
            report = asyncio.run(
                rebuild(
                    settings.database_url.get_secret_value(),
                    settings.kafka_bootstrap_servers,
                    topics,
                    settings.consumer_group,
                    on_total=lambda total: progress.update(task, total=total),
                    on_progress=lambda n: progress.advance(task, n),
                )
            )
        except RebuildRunning as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    console.print(
        f"rebuilt from {report.records} records in {elapsed:.1f} s: {report.applied} applied, "
        f"{report.duplicates} duplicates, {report.skipped} skipped (invalid), {report.caught_up} caught up at the swap"
    )
    console.print("  " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.seconds.items()))
    for table, rows in report.counts.items():
        console.print(f"  {table}: {rows} rows")
