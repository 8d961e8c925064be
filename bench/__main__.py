"""`python -m bench [name ...]`: run the benchmarks (all, or those named) against the bench stack."""

import asyncio
import importlib
import pkgutil
import sys

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


async def _run(names: list[str]) -> list[BenchResult]:
    context = BenchContext.from_env()
    results: list[BenchResult] = []
    for name in _modules(names):
        console.print(f"[bold]{name}[/bold] …")
        module = importlib.import_module(f"bench.{name}")
        for result in await module.run(context):
            results.append(result)
            console.print(
                f"  {result.metric}: {result.value:.1f} {result.unit} vs {result.baseline} "
                f"{result.baseline_value:.1f} → ratio {result.ratio:.2f}"
            )
    return results


def main() -> None:
    """Run, print, and write docs/benchmarks.{json,md}."""
    results = asyncio.run(_run(sys.argv[1:]))
    write_results(results)
    console.print(f"{len(results)} result(s) written to docs/benchmarks.md")


main()
