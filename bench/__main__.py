"""`python -m bench [name ...]`: run the benchmarks (all, or those named) against the bench stack."""

import asyncio
import importlib
import pkgutil
import sys
import time
import traceback

from rich.console import Console

import bench
from bench.harness import BenchContext, BenchResult, write_results

console = Console()


def _modules(names: list[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    wanted = [f"bench_{n.removeprefix('bench_')}" for n in names] or found
    unknown = set(wanted) - set(found)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {', '.join(found)}")
    return wanted


async def _run(names: list[str]) -> tuple[list[BenchResult], list[str]]:
    """Every benchmark in turn; one that fails is reported and the others still run (and are written)."""
    context = BenchContext.from_env()
    results: list[BenchResult] = []
    failed: list[str] = []
    for name in _modules(names):
        console.print(f"[bold]{name}[/bold] …")
        started = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            measured = await module.run(context)
        except Exception:  # noqa: BLE001 - report and carry on: one broken benchmark must not void the run
            console.print(f"[red]{name} failed[/red]\n{traceback.format_exc()}")
            failed.append(name)
            continue
        for result in measured:
            results.append(result)
            console.print(
                f"  {result.metric}: {result.value:.1f} {result.unit} vs {result.baseline} "
                f"{result.baseline_value:.1f} → ratio {result.ratio:.2f}"
            )
        console.print(f"  ({time.monotonic() - started:.0f} s)")
    return results, failed


def main() -> None:
    """Run, print, and write docs/benchmarks.{json,md}; exit 1 when a benchmark failed."""
    started = time.monotonic()
    results, failed = asyncio.run(_run(sys.argv[1:]))
    if results:
        write_results(results)
    console.print(f"{len(results)} result(s) written to docs/benchmarks.md in {time.monotonic() - started:.0f} s")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


main()
