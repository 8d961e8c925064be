"""A session that ends while the report form is filled in loses nothing: the values are kept server-side (sealed,
short-lived, only for this browser and person), the login brings the form back pre-filled with a Danish notice,
and only the person's own click sends it. A POST from elsewhere (no draft proof) keeps nothing."""

import hashlib
import os
import re
import uuid

import asyncpg
import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.portal

CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")
NOTICE = "Din session var udløbet. Vi har gemt det, du skrev – kontrollér og send igen."


async def _expire_session(page: Page) -> None:
    raw = next(c["value"] for c in await page.context.cookies() if c["name"] == "portal_session")
    db = await asyncpg.connect(os.environ["PORTAL_DATABASE_URL"])
    try:
        status = await db.execute(
            "UPDATE portal_sessions SET last_seen_at = now() - interval '1 day' WHERE id_hash = $1",
            hashlib.sha256(raw.encode()).digest(),
        )
    finally:
        await db.close()
    assert status == "UPDATE 1", status


async def _log_in_again(page: Page, demo_people: dict, user: str) -> None:
    """Keycloak's own SSO session may still be alive (then it sends the browser straight back), or it asks again."""
    username = page.locator("#username")
    form_heading = page.get_by_role("heading", level=1, name="Meld en bekymring")
    await expect(username.or_(form_heading)).to_be_visible()
    if await username.is_visible():
        await username.fill(user)
        await page.fill("#password", demo_people[user]["password"])
        await page.click("#kc-login")


async def test_an_expired_session_keeps_the_typed_report_for_after_login(
    page: Page, login, demo_people: dict, portal_url: str
) -> None:
    resident = f"Planted Kladde {uuid.uuid4().hex[:6]}"
    description = "Beboeren har ikke hentet post i tre uger, og der lugter fra opgangen."
    await login(page, "vicevaert")
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_label("Lejemål").fill("17-0042")
    await page.get_by_role("checkbox", name="Ensomhed").check()
    await page.get_by_role("radio", name="Lav").check()
    await page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt")).fill(description)
    await page.get_by_label("Beboerens navn").fill(resident)
    await page.get_by_role("radio", name=re.compile("^Beboeren er ikke spurgt")).check()
    old_csrf = await page.locator('form[data-report-form] input[name="csrf_token"]').get_attribute("value")

    await _expire_session(page)
    await page.get_by_role("button", name="Send bekymringen").click()
    await _log_in_again(page, demo_people, "vicevaert")

    # Back on the form, pre-filled, with the notice; nothing was sent yet.
    await expect(page).to_have_url(f"{portal_url}/bekymringer/ny")
    await expect(page.locator("#kladde-besked")).to_have_text(NOTICE)
    await expect(page.get_by_label("Afdeling")).to_have_value("holbaek-1")
    await expect(page.get_by_label("Lejemål")).to_have_value("17-0042")
    await expect(page.get_by_role("checkbox", name="Ensomhed")).to_be_checked()
    await expect(page.get_by_role("radio", name="Lav")).to_be_checked()
    await expect(page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt"))).to_have_value(description)
    await expect(page.get_by_label("Beboerens navn")).to_have_value(resident)
    new_csrf = await page.locator('form[data-report-form] input[name="csrf_token"]').get_attribute("value")
    assert new_csrf and new_csrf != old_csrf, "the kept form still carries the ended session's CSRF token"
    assert not any(c["name"] == "portal_draft" for c in await page.context.cookies()), "the draft cookie stayed"

    # The draft is used once: opening the form again gives an empty one.
    await page.goto(f"{portal_url}/bekymringer/ny")
    await expect(page.locator("#kladde-besked")).to_have_count(0)
    await expect(page.get_by_label("Beboerens navn")).to_have_value("")


async def test_the_kept_form_is_sent_by_the_persons_click(
    page: Page, login, demo_people: dict, portal_url: str
) -> None:
    resident = f"Planted Kladde {uuid.uuid4().hex[:6]}"
    await login(page, "vicevaert")
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_role("checkbox", name="Ensomhed").check()
    await page.get_by_role("radio", name="Lav").check()
    await page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt")).fill("Beboeren ses aldrig ude.")
    await page.get_by_label("Beboerens navn").fill(resident)
    await page.get_by_role("radio", name=re.compile("^Beboeren er ikke spurgt")).check()
    await _expire_session(page)
    await page.get_by_role("button", name="Send bekymringen").click()
    await _log_in_again(page, demo_people, "vicevaert")
    await expect(page.locator("#kladde-besked")).to_have_text(NOTICE)
    await page.get_by_role("button", name="Send bekymringen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tak – bekymringen er modtaget")
    assert CODE.match((await page.locator("#kvitteringskode").inner_text()).strip())


async def test_a_post_without_the_draft_proof_keeps_nothing(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    await _expire_session(page)
    answer = await page.request.post(
        f"{portal_url}/bekymringer/ny",
        form={"department_id": "holbaek-1", "description": "plantet af en anden side", "draft_check": "x.y"},
        max_redirects=0,
    )
    assert answer.status == 303 and answer.headers["location"].startswith("/auth/login")
    assert "portal_draft" not in answer.headers.get("set-cookie", "")
