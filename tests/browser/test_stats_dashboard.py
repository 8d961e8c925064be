"""The stats dashboard in headless Chromium (Debian's package, driven by Playwright): charts drawn with data,
a filter changes the numbers to what the API says, and a screenshot is kept as a test artefact."""

import asyncio
import re
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Page, async_playwright

from shared.auth.principal import Role
from shared.kafka.config import producer_config
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.polling import eventually
from tests.support.services import ROOT, ServiceProcess
from tests.support.stats_stream import generate

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
CHARTS = ["chart-days", "chart-departments", "chart-categories", "chart-severity", "chart-referrals", "chart-response"]
CATEGORY_CHARTS = ["chart-departments", "chart-categories", "chart-referrals", "chart-response", "chart-outcomes"]


async def loaded(page: Page, times: int) -> None:
    """Wait until the page has finished its `times`-th load of the numbers."""
    # A selector, not wait_for_function: the page's CSP (no 'unsafe-eval') stays on in the test.
    await page.wait_for_selector(f'body[data-loaded="{times}"]', state="attached", timeout=30_000)


async def kpi(page: Page, name: str) -> int:
    return int(await page.get_attribute(f"#kpi-{name}", "data-value"))


async def axis_labels(page: Page, canvas: str) -> dict:
    """A chart's category labels, the labels its axis draws, and the least room between two of them (px)."""
    return await page.evaluate(
        """(id) => { const c = Chart.getChart(id); const s = c.scales[c.options.indexAxis === 'y' ? 'y' : 'x'];
                     const at = s.ticks.map((t, i) => s.getPixelForTick(i));
                     const gaps = at.slice(1).map((p, i) => Math.abs(p - at[i]));
                     return { labels: c.data.labels, drawn: s.ticks.map((t) => s.getLabelForValue(t.value)),
                              horizontal: s.axis === 'y',
                              font: (s.options.ticks.font || Chart.defaults.font).size,
                              room: gaps.length ? Math.min(...gaps) : null }; }""",
        canvas,
    )


async def every_label_drawn(page: Page) -> None:
    """Every category chart draws each of its labels, and a bar lying down has room for its label's line."""
    for chart in CATEGORY_CHARTS:
        axis = await axis_labels(page, chart)
        assert axis["labels"], f"{chart} has no labels"
        assert axis["drawn"] == axis["labels"], f"{chart} skips labels"
        if axis["horizontal"] and axis["room"] is not None:
            assert axis["room"] >= axis["font"] * 1.2, f"{chart}'s labels overlap"


async def drawn_pixels(page: Page, canvas: str) -> int:
    """Non-transparent pixels on a chart's canvas: zero when nothing was drawn."""
    return await page.evaluate(
        """(id) => { const c = document.getElementById(id); const d = c.getContext('2d')
                       .getImageData(0, 0, c.width, c.height).data;
                     let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
        canvas,
    )


async def test_dashboard_draws_charts_with_data_and_a_filter_changes_the_numbers(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    assert await asyncio.to_thread(Path(CHROMIUM).exists), "install Debian's chromium: apt-get install -y chromium"
    ops = (await issue_client(Role.OPS)).token
    holbaek_token = (await issue_client(Role.MUNICIPALITY, municipality_code="0316")).token
    stream = generate(seed=23, concerns=140)
    producer = AIOKafkaProducer(**producer_config(kafka_bootstrap, "stats-browser"))
    await producer.start()
    try:
        await stream.produce(producer, topic_prefix)
    finally:
        await producer.stop()
    async with fresh_database("stats") as database_url:
        process = ServiceProcess("stats", {**service_env, "DATABASE_URL": database_url, "MIN_CELL_COUNT": "5"})
        await asyncio.to_thread(process.start)
        db = await asyncpg.connect(database_url)
        try:

            async def applied() -> bool:
                return await db.fetchval("SELECT count(*) FROM processed_events") == stream.distinct_events

            await eventually(applied, within=120, what="the stream applied")
            async with httpx.AsyncClient(base_url=process.url, headers={"Authorization": f"Bearer {ops}"}) as api:

                async def known() -> bool:
                    return (await api.get("/v1/stats/scope")).status_code == 200

                await eventually(known, what="the ops client known to stats")
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    try:
                        page = await browser.new_page(viewport={"width": 1400, "height": 2200}, locale="da-DK")
                        errors: list[str] = []
                        page.on("pageerror", lambda error: errors.append(str(error)))
                        await page.goto(process.url + "/")
                        assert await page.is_visible("#login") and not await page.is_visible("#dashboard")
                        await page.fill("#token", ops)
                        await page.click("#login-button")
                        await loaded(page, 1)
                        # A time of day in Danish ("kl. 21.11"), not "21.11.25" that reads as a date.
                        status = await page.inner_text("#status")
                        assert re.match(r"Opdateret kl\. \d{2}\.\d{2} · \d{1,2}\. [a-zæøå]+ \d{4} – ", status), status
                        await every_label_drawn(page)
                        # Narrower, the bars crowd: still every label (Chart.js would skip some by default).
                        await page.set_viewport_size({"width": 820, "height": 2200})
                        await page.wait_for_timeout(500)
                        await every_label_drawn(page)
                        await page.set_viewport_size({"width": 1400, "height": 2200})

                        period = {"from": await page.input_value("#from"), "to": await page.input_value("#to")}
                        everything = (await api.get("/v1/stats/overview", params=period)).json()
                        assert everything["concerns"]["total"] == stream.truth()["total"] > 0
                        assert await kpi(page, "concerns") == everything["concerns"]["total"]
                        assert await kpi(page, "referrals") == everything["referrals"]["total"]
                        costs = everything["costs_avoided"]["total_dkk"]
                        if costs is None:  # withheld: an outcome's count is small
                            assert await page.inner_text("#kpi-costs") == "Skjult (små tal)"
                        else:
                            assert await kpi(page, "costs") == costs
                        for chart in CHARTS:
                            total = await page.evaluate(
                                "(id) => Chart.getChart(id).data.datasets"
                                ".flatMap((d) => d.data).reduce((a, b) => a + (Number(b) || 0), 0)",
                                chart,
                            )
                            assert total > 0, f"{chart} has no data"
                            assert await drawn_pixels(page, chart) > 500, f"{chart} is blank"
                        days = await page.evaluate("Chart.getChart('chart-days').data.datasets[0].data")
                        assert days == [d["concerns"] for d in everything["concerns"]["by_day"]]
                        assert None in days  # small days withheld, and more than one: the total gives none back
                        assert days.count(None) >= 2
                        assert "< 5: færre end 5" in await page.inner_text("#suppression")
                        assert await page.locator("#hotspots tbody tr").count() == 7
                        # Municipalities by name, as everywhere else on the page (not their codes).
                        places = await page.locator("#hotspots tbody td:nth-child(2)").all_inner_texts()
                        assert places and not [p for p in places if re.fullmatch(r"\d{4}", p)], places
                        assert "Byars" in await page.inner_text("#hotspot-method")

                        await page.select_option("#municipality", "0316")
                        await loaded(page, 2)
                        holbaek = (
                            await api.get("/v1/stats/overview", params={**period, "municipality": "0316"})
                        ).json()
                        assert await kpi(page, "concerns") == holbaek["concerns"]["total"]
                        assert 0 < holbaek["concerns"]["total"] < everything["concerns"]["total"]
                        assert await page.locator("#hotspots tbody tr").count() == 2
                        assert not errors, errors

                        ARTIFACTS.mkdir(exist_ok=True)
                        shot = ARTIFACTS / "stats-dashboard.png"
                        await page.screenshot(path=str(shot), full_page=True)
                        assert shot.stat().st_size > 10_000

                        # A municipality: its own numbers and an anonymous comparison, no other municipality.
                        await page.click("#logout")
                        assert await page.is_visible("#login")
                        assert await page.evaluate("sessionStorage.length") == 0
                        await page.fill("#token", holbaek_token)
                        await page.click("#login-button")
                        await loaded(page, 3)
                        assert await kpi(page, "concerns") == holbaek_total(stream)
                        comparison = await page.inner_text("#comparison")
                        assert "medianen for 4 andre kommuner" in comparison
                        assert "de andre kommuners median" in comparison
                        options = await page.locator("#municipality option").all_inner_texts()
                        assert options == ["Alle", "Holbæk (0316)"]
                        assert not errors, errors
                        await page.screenshot(path=str(ARTIFACTS / "stats-dashboard-municipality.png"), full_page=True)

                        # One day with a small count: the page shows it as "< 5", not the number.
                        small = sorted(
                            d for d, n in stream.truth(municipalities={"0316"})["by_day"].items() if 0 < n < 5
                        )[0]
                        await page.fill("#to", str(small))
                        await loaded(page, 4)
                        await page.fill("#from", str(small))
                        await loaded(page, 5)
                        assert await page.inner_text("#kpi-concerns") == "< 5"
                        assert await page.get_attribute("#kpi-concerns", "data-value") == ""

                        # A refused filter: the page says in Danish what the API refused (Accept-Language: da).
                        await page.fill("#from", "2020-01-01")
                        await page.wait_for_selector('#status:has-text("perioden må højst dække")', timeout=10_000)
                        assert (
                            "Tallene kunne ikke hentes: query.from: perioden må højst dække"
                            in await page.inner_text("#status")
                        )
                    finally:
                        await browser.close()
        finally:
            await db.close()
            process.stop()


def holbaek_total(stream) -> int:  # noqa: ANN001
    """Concerns of Holbæk's departments in the stream (all inside the page's default 90 days)."""
    return stream.truth(municipalities={"0316"})["total"]
