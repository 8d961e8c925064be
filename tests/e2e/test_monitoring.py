"""The stack's Prometheus and Alertmanager, run for real: every target up, every Grafana panel's query answered
with series after the demo, and a stopped service reaching the on-call mailbox as an alert e-mail."""

import asyncio
import email
import json
import os
import re
import subprocess
import sys
import time
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest
import yaml

from deploy import lifecycle, supervisor
from deploy.config import REPO, SERVICES, StackConfig
from tests.support.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DASHBOARDS = REPO / "deploy" / "grafana"
RULES = REPO / "deploy" / "prometheus" / "rules" / "platform.yml"


def _prometheus() -> str:
    return os.environ["PROMETHEUS_URL"]


def _panel_queries() -> list[tuple[str, str, str]]:
    def walk(node: dict, board: str):  # noqa: ANN202
        for panel in node.get("panels", []):
            for target in panel.get("targets", []):
                yield board, panel["title"], target["expr"]
            yield from walk(panel, board)

    return [q for path in sorted(DASHBOARDS.glob("*.json")) for q in walk(json.loads(path.read_text()), path.stem)]


async def _query(http: httpx.AsyncClient, expr: str) -> list[dict]:
    # Grafana's $__rate_interval is at least four scrape intervals; a minute covers it on this stack.
    response = await http.get(f"{_prometheus()}/api/v1/query", params={"query": expr.replace("$__rate_interval", "1m")})
    assert response.status_code == 200, response.text
    return response.json()["data"]["result"]


async def test_prometheus_scrapes_every_service_and_loads_the_alert_rules() -> None:
    async with httpx.AsyncClient(timeout=10) as http:

        async def all_up() -> bool:
            targets = (await http.get(f"{_prometheus()}/api/v1/targets")).json()["data"]["activeTargets"]
            return {t["labels"]["service"] for t in targets if t["health"] == "up"} >= set(SERVICES)

        await eventually(all_up, within=60, what="every service's target up in Prometheus")
        groups = (await http.get(f"{_prometheus()}/api/v1/rules")).json()["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
    defined = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    assert loaded == defined


async def test_every_grafana_panel_query_returns_series_after_the_demo() -> None:
    home = Path(os.environ["STACK_HOME"])
    command = [sys.executable, "-m", "deploy.demo.feed", "--home", str(home), "--count", "12", "--inbound", "4"]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    queries = _panel_queries()
    assert len(queries) >= 25
    async with httpx.AsyncClient(timeout=10) as http:
        empty: list[str] = []
        deadline = time.monotonic() + 120  # a few scrapes after the demo, and stats' gauges refreshed
        for board, title, expr in queries:
            while not await _query(http, expr):
                if time.monotonic() > deadline:
                    empty.append(f"{board} / {title}: {expr}")
                    break
                await asyncio.sleep(2)
    assert not empty, "panels without data:\n" + "\n".join(empty)


def _alert_mails(mail_dir: Path, alertname: str, service: str) -> list[email.message.Message]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        subject = str(make_header(decode_header(message.get("Subject", ""))))
        if re.search(rf"\[FIRING(:\d+)?\] {alertname} {service}\b", subject):
            found.append(message)
    return found


def _body(message: email.message.Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "\n".join(
        part.get_payload(decode=True).decode("utf-8", "replace")
        for part in parts
        if part.get_content_type() == "text/plain"
    )


async def test_stopping_notify_mails_the_service_down_alert_within_its_for_time_plus_a_minute() -> None:
    cfg = lifecycle.load(StackConfig(home=Path(os.environ["STACK_HOME"])))
    mail_dir = Path(os.environ["MAIL_DIR"])
    rule = next(
        r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if r.get("alert") == "ServiceDown"
    )
    assert rule["for"] == "1m"
    before = len(_alert_mails(mail_dir, "ServiceDown", "notify"))
    await asyncio.to_thread(supervisor.ctl, cfg, "stop", "notify")
    stopped = time.monotonic()
    try:

        async def mailed() -> bool:
            return len(_alert_mails(mail_dir, "ServiceDown", "notify")) > before

        await eventually(mailed, within=60 + 60, what="the ServiceDown e-mail for notify")
        took = time.monotonic() - stopped
    finally:
        await asyncio.to_thread(supervisor.ctl, cfg, "start", "notify")
        async with httpx.AsyncClient(timeout=5) as http:

            async def ready() -> bool:
                try:
                    return (await http.get(f"{cfg.service_url('notify')}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, within=90, what="notify ready again")
    message = _alert_mails(mail_dir, "ServiceDown", "notify")[-1]
    assert message["To"] == "driften@bekymring.local"
    body = _body(message)
    assert "notify" in body and "svarer ikke" in body and "does not answer" in body, body
    assert "docs/operations.md#servicedown" in body
    assert took <= 120
