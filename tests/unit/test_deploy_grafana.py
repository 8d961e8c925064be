"""The dashboards Grafana is provisioned with (deploy/grafana): they load, use the provisioned data source, and
query only metrics the services export."""

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.support.deploy_files import ROOT, SERVICES

pytestmark = pytest.mark.unit
DASHBOARDS = ROOT / "deploy" / "grafana"
PROVISIONED = ROOT / "deploy" / "compose" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DATASOURCE = yaml.safe_load(PROVISIONED.read_text())["datasources"][0]
BUILTIN_SOURCES = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}
PROMQL_WORDS = frozenset(
    """rate irate increase delta idelta deriv predict_linear sum avg min max count count_values topk bottomk quantile
    stddev stdvar group histogram_quantile histogram_count histogram_sum label_replace label_join clamp clamp_min
    clamp_max abs ceil floor round sgn exp ln log2 log10 sqrt time timestamp vector scalar absent absent_over_time
    sum_over_time avg_over_time max_over_time min_over_time count_over_time last_over_time quantile_over_time
    stddev_over_time present_over_time changes resets sort sort_desc day_of_week day_of_month hour minute month year
    days_in_month by without on ignoring group_left group_right and or unless bool offset inf nan""".split()  # noqa: SIM905
)
# Prometheus' own series for every target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def exported_series() -> set[str]:
    """Every series name the services' metric modules can export (counters as _total, histograms as _bucket...)."""
    importlib.import_module("shared.metrics")
    importlib.import_module("shared.outbox.metrics")  # the relay's, one set for every service
    for service in SERVICES:
        importlib.import_module(f"services.{service}.metrics")
    names = set(SCRAPE_SERIES)
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("_sum", "_count", "_created", ""),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
        names |= {sample.name for sample in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    """The series a PromQL expression reads (functions, keywords, labels, variables and durations left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\$\{[^}]*\}|\$\w+", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    tokens = re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
    return {t for t in tokens if t not in PROMQL_WORDS}


def panels(node: dict) -> Iterator[dict]:
    for panel in node.get("panels", []):
        yield panel
        yield from panels(panel)


def dashboard_problems(dashboard: dict, series: set[str]) -> list[str]:
    """What would make a provisioned dashboard show nothing: unknown data sources, unknown metrics."""
    problems = []
    if "__inputs" in dashboard:
        problems.append("exported 'for sharing' (__inputs): file provisioning cannot fill the inputs")
    variables = {
        v.get("name") for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "datasource"
    }

    def source_ok(source: object) -> bool:
        uid = source.get("uid") if isinstance(source, dict) else source
        if uid is None or uid in BUILTIN_SOURCES or uid in (DATASOURCE["uid"], DATASOURCE["name"]):
            return True
        return isinstance(uid, str) and uid.strip("${}") in variables

    for panel in panels(dashboard):
        title = panel.get("title", "?")
        if not source_ok(panel.get("datasource")):
            problems.append(f"{title}: data source {panel.get('datasource')!r} is not the provisioned one")
        for target in panel.get("targets", []):
            if not source_ok(target.get("datasource")):
                problems.append(f"{title}: data source {target.get('datasource')!r} is not the provisioned one")
            unknown = metric_names(target.get("expr", "")) - series
            if unknown:
                problems.append(f"{title}: no service exports {sorted(unknown)}")
    return problems


def test_the_checker_finds_what_would_leave_a_panel_empty() -> None:
    dashboard = {
        "__inputs": [{"name": "DS_PROMETHEUS"}],
        "panels": [
            {"title": "ok", "datasource": {"uid": "prometheus"},
             "targets": [{"expr": 'sum by (service) (rate(http_requests_total{status=~"5.."}[$__rate_interval]))'}]},
            {"title": "row", "panels": [
                {"title": "typo",
                 "targets": [{"expr": "histogram_quantile(0.99, rate(intake_concern_accept_secs_bucket[5m]))"}]},
                {"title": "foreign", "datasource": {"uid": "${DS_PROMETHEUS}"}, "targets": [{"expr": "service_ready"}]},
            ]},
        ],
    }  # fmt: skip
    problems = dashboard_problems(dashboard, exported_series())
    assert any("__inputs" in p for p in problems)
    assert any(p.startswith("typo:") and "intake_concern_accept_secs_bucket" in p for p in problems)
    assert any(p.startswith("foreign:") and "data source" in p for p in problems)
    assert not any(p.startswith("ok:") for p in problems)


def test_every_provisioned_dashboard_loads_and_queries_exported_metrics() -> None:
    series = exported_series()
    problems = {}
    for path in sorted(DASHBOARDS.rglob("*.json")) if DASHBOARDS.exists() else []:
        dashboard = json.loads(path.read_text())
        assert dashboard.get("uid") and dashboard.get("title"), f"{path.name}: a dashboard needs a uid and a title"
        found = dashboard_problems(dashboard, series)
        if found:
            problems[str(Path(path).relative_to(ROOT))] = found
    assert not problems, problems


def test_each_dashboard_has_its_own_title_not_one_of_its_panels() -> None:
    titles = {}
    for path in sorted(DASHBOARDS.rglob("*.json")):
        dashboard = json.loads(path.read_text())
        panel_titles = {panel.get("title") for panel in panels(dashboard)}
        assert dashboard["title"] not in panel_titles, f"{path.name}: the dashboard is titled like one of its panels"
        assert all(panel_titles), f"{path.name}: every panel needs a title"
        titles[path.name] = dashboard["title"]
        # Danish time, as the e-mails and the stats page show it, whatever the viewer's browser is set to.
        assert (dashboard.get("timezone"), dashboard.get("weekStart")) == ("Europe/Copenhagen", "monday"), path.name
    assert len(set(titles.values())) == len(titles) >= 2, titles


def test_codes_in_business_legends_are_shown_in_danish() -> None:
    from services.routing.metrics import AGE_BUCKETS
    from shared.contracts.vocabulary import Outcome, ReferralStatus, ReferralTarget

    vocabularies = {
        "target": [t.value for t in ReferralTarget],
        "status": [s.value for s in ReferralStatus],
        "outcome": [o.value for o in Outcome],
        "age": [code for code, _ in AGE_BUCKETS] + ["gte_30d"],
    }
    dashboard = json.loads((DASHBOARDS / "business.json").read_text())
    missing = {}
    for panel in panels(dashboard):
        renamed = {t["options"]["regex"] for t in panel.get("transformations", []) if t.get("id") == "renameByRegex"}
        for target in panel.get("targets", []):
            for label in re.findall(r"\{\{(\w+)\}\}", target.get("legendFormat", "")):
                codes = vocabularies.get(label, [])
                lacking = [code for code in codes if rf"^(.*)\b{code}\b(.*)$" not in renamed]
                if lacking:
                    missing[f"{panel['title']}: {label}"] = lacking
    assert not missing, missing
