"""The stats service as a process: its Faust agents fill the projections, the API answers by scope, the rebuild
command replays the topics while the service runs, and the gauges show on /metrics."""

import asyncio
import os
import statistics
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.stats.adapters.reference_data import reference_from_directory
from shared.auth.principal import Role
from shared.contracts.health import HEALTH_CATEGORIES
from shared.contracts.topics import CONCERN_EVENTS
from shared.kafka.config import producer_config
from tests.support.polling import eventually
from tests.support.reference import owner_directory
from tests.support.services import ROOT, ServiceProcess
from tests.support.stats_stream import DEPARTMENTS, generate

pytestmark = pytest.mark.e2e
OTHER_CODES = {"0326", "0265", "0461", "0751"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_stats_service_counts_scopes_rebuilds_and_exports_gauges(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    stream = generate(seed=11, concerns=160)
    tokens = {
        "ops": (await issue_client(Role.OPS)).token,
        "holbaek": (await issue_client(Role.MUNICIPALITY, municipality_code="0316")).token,
        "consultant": (await issue_client(Role.CONSULTANT, department_ids=["hoeng-1"])).token,
        "association": (await issue_client(Role.ASSOCIATION, department_ids=["hoeng-1"])).token,
        "reporter": (await issue_client(Role.REPORTER, organisation_id="org-demo")).token,
    }
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "stats-e2e"))
    await producer.start()
    try:
        await stream.produce(producer, topic_prefix)
    finally:
        await producer.stop()
    period = {"from": (stream.start.date() - timedelta(days=1)).isoformat()}
    async with fresh_database("stats") as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "BUSINESS_METRICS_INTERVAL_S": "1", "MIN_CELL_COUNT": "5"}
        process = ServiceProcess("stats", env)
        await asyncio.to_thread(process.start)
        db = await asyncpg.connect(database_url)
        try:
            async with httpx.AsyncClient(base_url=process.url, timeout=30) as http:

                async def all_applied() -> bool:
                    return await db.fetchval("SELECT count(*) FROM processed_events") == stream.distinct_events

                await eventually(all_applied, within=120, what="the stream applied by the agents")

                async def ops_ready() -> bool:
                    return (await http.get("/v1/stats/overview", headers=bearer(tokens["ops"]))).status_code == 200

                await eventually(ops_ready, what="the ops client known to stats")
                truth = stream.truth()
                overview = (await http.get("/v1/stats/overview", params=period, headers=bearer(tokens["ops"]))).json()
                assert overview["concerns"]["total"] == truth["total"]
                assert {d["department_id"]: d["concerns"] for d in overview["concerns"]["by_department"]} == truth[
                    "by_department"
                ]
                assert overview["repeat_tenancies"]["tenancies"] == truth["repeat_tenancies"]
                assert overview["referrals"]["sla"]["breaches"] == truth["breaches"]
                costs = overview["costs_avoided"]
                assert costs["estimate"] is True and "Skøn" in costs["label"]
                outcomes = truth["outcomes"]
                want = 500_000 * (outcomes.get("eviction_avoided", 0) + outcomes.get("dwelling_restored", 0))
                assert costs["total_dkk"] == want

                # A municipality: its own numbers, and the others only as an anonymous median.
                own = await http.get("/v1/stats/overview", params=period, headers=bearer(tokens["holbaek"]))
                assert own.status_code == 200
                body = own.json()
                holbaek = stream.truth(municipalities={"0316"})
                assert body["concerns"]["total"] == holbaek["total"] < truth["total"]
                rates = _municipality_rates(truth)
                comparison = body["comparison"]["concerns_per_100_tenancies"]
                assert comparison["own"] == pytest.approx(rates["0316"], abs=1e-3)
                others = comparison["other_municipalities"]
                assert others["municipalities"] == 4 and not others["withheld"]
                assert others["median"] == pytest.approx(statistics.median(rates[c] for c in OTHER_CODES), abs=1e-3)
                for path in ("overview", "response-times", "hotspots", "scope"):
                    text = (await http.get(f"/v1/stats/{path}", params=period, headers=bearer(tokens["holbaek"]))).text
                    assert not any(code in text for code in OTHER_CODES), f"{path} names another municipality"
                    assert "Stationsbyen" not in text and "kalundborg-1" not in text
                refused = await http.get(
                    "/v1/stats/overview", params={"municipality": "0326"}, headers=bearer(tokens["holbaek"])
                )
                assert refused.status_code == 403 and "municipality" in refused.json()["detail"]

                # A consultant: only its departments; a reporter: nothing.
                mine = (
                    await http.get("/v1/stats/overview", params=period, headers=bearer(tokens["consultant"]))
                ).json()
                assert mine["concerns"]["total"] == stream.truth(departments={"hoeng-1"})["total"]
                assert mine["notifications"] is None

                # Small counts: withheld for every role (ops too), and never a total that gives one back.
                by_day = {d["day"]: d["concerns"] for d in overview["concerns"]["by_day"]}
                for day, n in truth["by_day"].items():
                    assert by_day[str(day)] in ((None,) if n < 5 else (n, None)), (day, n)
                assert None in by_day.values()
                shown = sum(n for n in by_day.values() if n is not None)
                withheld = [d for d, n in by_day.items() if n is None]
                assert len(withheld) >= 2 and overview["concerns"]["total"] - shown != len(withheld)
                cells = Counter((c["day"], c["department_id"]) for c in stream.concern_rows())
                day, department = next(k for k, n in sorted(cells.items()) if n == 1)
                one = {"from": str(day), "to": str(day), "department": department}
                single = (await http.get("/v1/stats/overview", params=one, headers=bearer(tokens["ops"]))).json()
                assert single["concerns"]["total"] is None and single["suppression"]["shown_as"] == "< 5"
                assert [d["concerns"] for d in single["concerns"]["by_department"]] == [None]
                assert all(c["concerns"] is None for c in single["categories"])

                # An association: its departments' figures, never a health category.
                assert HEALTH_CATEGORIES & set(stream.truth(departments={"hoeng-1"})["by_category"])
                as_association = bearer(tokens["association"])
                for path in ("overview", "response-times", "hotspots"):
                    refused = await http.get(
                        f"/v1/stats/{path}", params={"category": "mental_health"}, headers=as_association
                    )
                    assert refused.status_code == 403 and "category" in refused.json()["detail"]
                for path in ("overview", "response-times", "hotspots", "scope"):
                    answer = await http.get(f"/v1/stats/{path}", params=period, headers=as_association)
                    assert answer.status_code == 200
                    assert not [c for c in HEALTH_CATEGORIES if c.value in answer.text], path
                theirs = (await http.get("/v1/stats/overview", params=period, headers=as_association)).json()
                assert theirs["categories"] and theirs["concerns"]["total"] == mine["concerns"]["total"]
                assert (await http.get("/v1/stats/overview", headers=bearer(tokens["reporter"]))).status_code == 403
                assert (await http.get("/v1/stats/overview")).status_code == 401
                bad = await http.get(
                    "/v1/stats/overview",
                    params={"from": "2026-05-02", "to": "2026-05-01"},
                    headers=bearer(tokens["ops"]),
                )
                assert bad.status_code == 422 and "from" in bad.json()["detail"]

                hotspots = (await http.get("/v1/stats/hotspots", params=period, headers=bearer(tokens["ops"]))).json()
                assert "Byar" in hotspots["method"]["interval"] and "holbaek-2" in hotspots["hotspots"]
                assert {d["department_id"] for d in hotspots["departments"]} == set(DEPARTMENTS)

                # The rebuild command, with the service running: the same numbers afterwards.
                before = [
                    (await http.get(f"/v1/stats/{p}", params=period, headers=bearer(tokens["ops"]))).json()
                    for p in ("overview", "response-times", "hotspots")
                ]
                rebuild = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "services.stats", "rebuild"],
                    env={**os.environ, **env},
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert rebuild.returncode == 0, rebuild.stderr[-2000:]
                assert f"{stream.distinct_events} applied" in rebuild.stderr
                after = [
                    (await http.get(f"/v1/stats/{p}", params=period, headers=bearer(tokens["ops"]))).json()
                    for p in ("overview", "response-times", "hotspots")
                ]
                assert after == before

                async def gauges() -> bool:
                    text = (await http.get("/metrics")).text
                    return f"stats_concerns {float(truth['total'])}" in text

                await eventually(gauges, what="the business gauges on /metrics")
                exposed = (await http.get("/metrics")).text
                assert "municipality_code=" not in exposed and "department" not in exposed
                assert "stats_ack_median_hours " in exposed

                # Consumer lag: stats has committed everything; routing (not running here) nothing.
                concern_records = len(stream.messages[CONCERN_EVENTS])

                async def lag() -> bool:
                    text = (await http.get("/metrics")).text
                    return (
                        'kafka_consumer_group_lag{group="stats-service",topic="concern-events"} 0.0' in text
                        and f'group="routing-service",topic="concern-events"}} {float(concern_records)}' in text
                    )

                await eventually(lag, what="the consumer lag gauges")

                page = await http.get("/")
                assert page.status_code == 200 and 'lang="da"' in page.text
                assert "default-src 'self'" in page.headers["content-security-policy"]
                assert (await http.get("/static/vendor/chart-4.5.1.umd.js")).status_code == 200
        finally:
            await db.close()
            process.stop()


def _municipality_rates(truth: dict) -> dict[str, float]:
    reference = reference_from_directory(owner_directory())
    tenancies: dict[str, int] = {}
    for department in reference.departments.values():
        tenancies[department.municipality_code] = tenancies.get(department.municipality_code, 0) + department.tenancies
    return {code: 100 * truth["by_municipality"].get(code, 0) / total for code, total in tenancies.items()}
