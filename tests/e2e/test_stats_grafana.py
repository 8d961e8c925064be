"""Every Grafana panel's query names a metric that the four services, run as processes, really export."""

import asyncio
import json
import re

import httpx
import pytest

from tests.support.services import ROOT, ServiceProcess

pytestmark = pytest.mark.e2e

DASHBOARDS = ROOT / "deploy" / "grafana"
SERVICES = ("intake", "routing", "notify", "stats")
PROMQL = set(
    """sum avg min max count topk bottomk quantile rate irate increase delta deriv histogram_quantile abs round
    clamp_min clamp_max by without on ignoring group_left group_right and or unless bool offset time vector scalar
    sum_over_time avg_over_time max_over_time min_over_time label_replace""".split()  # noqa: SIM905
)


def exposed_series(text: str) -> set[str]:
    """Series names in a Prometheus exposition: samples, and declared families (with their histogram series)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def queried_series(expr: str) -> set[str]:
    """The series a PromQL expression reads: label matchers, grouping labels, ranges and functions left out."""
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    tokens = re.findall(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    return {t for t in tokens if t not in PROMQL}


def targets(node: dict):  # noqa: ANN201
    for panel in node.get("panels", []):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
        yield from targets(panel)


async def test_every_grafana_panel_queries_metrics_the_running_services_export(
    fresh_database, service_env, issue_client
) -> None:
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert {p.name for p in dashboards} >= {"ops.json", "business.json"}
    assert queried_series('sum by (job) (rate(http_requests_total{status=~"5.."}[5m]))') == {"http_requests_total"}
    assert queried_series("histogram_quantile(0.9, sum by (le) (rate(x_seconds_bucket[$__rate_interval])))") == {
        "x_seconds_bucket"
    }

    exported: set[str] = set()
    async with (
        fresh_database("intake") as intake,
        fresh_database("routing") as routing,
        fresh_database("notify") as notify,
        fresh_database("stats") as stats,
    ):
        urls = dict(zip(SERVICES, (intake, routing, notify, stats), strict=True))
        processes = [ServiceProcess(name, {**service_env, "DATABASE_URL": urls[name]}) for name in SERVICES]
        try:
            await asyncio.gather(*(asyncio.to_thread(p.start) for p in processes))
            async with httpx.AsyncClient(timeout=10) as http:
                for process in processes:
                    await http.get(process.url + "/readyz")  # sets service_ready
                    exported |= exposed_series((await http.get(process.url + "/metrics")).text)
        finally:
            for process in processes:
                process.stop()

    missing = {}
    panels = 0
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        for title, expr in targets(dashboard):
            panels += 1
            unknown = queried_series(expr) - exported
            if unknown:
                missing[f"{path.name}: {title}"] = sorted(unknown)
    assert panels >= 20
    assert not missing, missing
