"""Measurements for the portal's closing note, reported and not asserted: the KB Chromium transfers for one cold
load of each page (an empty cache, the person's session), and the report form's first paint and first contentful
paint (cold and with the static files cached). Written to test-artifacts/portal/perf.json."""

import statistics
import uuid

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.portal.support.concerns import one, referrals_of, report_concern
from tests.portal.support.perf import PERF_FILE, Traffic, median_of, paint_timing, record, settled

pytestmark = pytest.mark.portal

MOBILE = {"width": 390, "height": 844}
PAINT_RUNS = 7


async def _weigh(chromium: Browser, state: dict | None, url: str) -> dict:
    """One cold load of `url` in a fresh profile holding only the session's cookies."""
    context = await chromium.new_context(viewport=MOBILE, locale="da-DK", storage_state=state)
    try:
        page = await context.new_page()
        traffic = await Traffic.attach(page)
        response = await page.goto(url)
        await settled(page)
        listed = await page.locator("[data-referral-id]").count()
        return {
            "status": response.status if response else None,
            **traffic.summary(),
            **({"referrals_listed": listed} if listed else {}),
        }
    finally:
        await context.close()


async def _session(chromium: Browser, login, user: str) -> tuple[BrowserContext, Page, dict]:  # noqa: ANN001
    context = await chromium.new_context(viewport=MOBILE, locale="da-DK")
    page = await context.new_page()
    await login(page, user)
    return context, page, await context.storage_state()


async def test_page_weight_of_every_page(chromium: Browser, login, portal_url: str) -> None:
    concern = await report_concern(
        department="holbaek-1", categories=["mental_health"], resident_name=f"Vægt Beboer {uuid.uuid4().hex[:6]}"
    )
    referrals = await referrals_of(concern["id"], targets={"consultant", "municipality"})
    weights: dict[str, dict] = {"front page, logged out": await _weigh(chromium, None, f"{portal_url}/")}

    context, page, state = await _session(chromium, login, "vicevaert")
    try:
        await page.goto(f"{portal_url}/bekymringer/ny")
        await page.get_by_label("Afdeling").select_option("holbaek-1")
        await page.get_by_role("checkbox", name="Tegn på demens").check()
        await page.get_by_role("radio", name="Lav").check()
        await page.get_by_role("textbox", name="Hvad har du set eller hørt?").fill("Beboeren virker glemsom.")
        await page.get_by_role("radio", name="Beboeren er ikke spurgt (eller kan ikke tage stilling)").check()
        await page.get_by_role("button", name="Send bekymringen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tak – bekymringen er modtaget")
        receipt = page.url
        code = (await page.locator("#kvitteringskode").inner_text()).strip()
        state = await context.storage_state()
    finally:
        await context.close()
    for name, path in {
        "front page, caretaker": "/",
        "report form": "/bekymringer/ny",
        "receipt": receipt.removeprefix(portal_url),
        "follow form": "/foelg",
        "followed concern": f"/bekymringer/{code}",
        "my concerns": "/bekymringer",
    }.items():
        weights[name] = await _weigh(chromium, state, f"{portal_url}{path}")

    for user, pages in {
        "konsulent": {
            "worklist": "/arbejdsliste",
            "referral (consultant)": f"/arbejdsliste/{one(referrals, 'consultant')['referral_id']}",
        },
        "kommune-0316": {
            "municipality inbox": "/indbakke",
            "referral (municipality)": f"/indbakke/{one(referrals, 'municipality')['referral_id']}",
        },
        "admin": {
            "admin: rules": "/admin/regler",
            "admin: simulation": "/admin/simulering",
            "admin: API clients": "/admin/klienter",
            "admin: webhooks": "/admin/webhooks",
        },
    }.items():
        context, _, state = await _session(chromium, login, user)
        await context.close()
        for name, path in pages.items():
            weights[name] = await _weigh(chromium, state, f"{portal_url}{path}")

    record("page_weight_kb", weights)
    summary = {name: w["kb"] for name, w in weights.items()}
    print(f"\npage weight (KB transferred, cold): {summary}\n-> {PERF_FILE}")
    assert all(w["status"] == 200 for w in weights.values()), {n: w["status"] for n, w in weights.items()}
    assert all(w["kb"] > 0 for w in weights.values())


async def test_first_paint_of_the_report_form(chromium: Browser, login, portal_url: str) -> None:
    context, _, state = await _session(chromium, login, "vicevaert")
    await context.close()
    url = f"{portal_url}/bekymringer/ny"
    cold: list[dict] = []
    for _ in range(PAINT_RUNS):
        fresh = await chromium.new_context(viewport=MOBILE, locale="da-DK", storage_state=state)
        try:
            page = await fresh.new_page()
            await page.goto(url)
            cold.append(await paint_timing(page))
        finally:
            await fresh.close()
    warm: list[dict] = []
    fresh = await chromium.new_context(viewport=MOBILE, locale="da-DK", storage_state=state)
    try:
        page = await fresh.new_page()
        await page.goto(url)
        await paint_timing(page)
        for _ in range(PAINT_RUNS):
            await page.goto(url)
            warm.append(await paint_timing(page))
    finally:
        await fresh.close()

    def summary(samples: list[dict]) -> dict:
        flat = [
            {
                "first_paint": s["paints"].get("first-paint"),
                "first_contentful_paint": s["paints"].get("first-contentful-paint"),
                "response_end": s["response_end"],
                "dom_content_loaded": s["dom_content_loaded"],
                "load": s["load"],
            }
            for s in samples
        ]
        values = [f["first_contentful_paint"] for f in flat if f["first_contentful_paint"] is not None]
        return {
            "runs": len(flat),
            **{f"median_{key}_ms": median_of(flat, key) for key in flat[0]},
            "min_first_contentful_paint_ms": round(min(values), 1) if values else None,
            "max_first_contentful_paint_ms": round(max(values), 1) if values else None,
            "stdev_first_contentful_paint_ms": round(statistics.stdev(values), 1) if len(values) > 1 else None,
        }

    result = {
        "page": "/bekymringer/ny",
        "viewport": MOBILE,
        "browser": f"Chromium {chromium.version} (Debian), headless",
        "cold_cache": summary(cold),
        "static_files_cached": summary(warm),
    }
    record("report_form_first_paint", result)
    print(f"\nfirst paint of the report form: {result}\n-> {PERF_FILE}")
    assert all("first-contentful-paint" in s["paints"] for s in cold + warm), "Chromium reported no paint"
