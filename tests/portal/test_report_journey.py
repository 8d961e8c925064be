"""Journeys 1 and 2 as a caretaker does them: report a concern by clicking and typing, meet the field errors
beside their fields with nothing typed lost, get the receipt code and the guidance, follow the concern by code."""

import json
import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.portal

CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$")


async def test_a_caretaker_reports_a_concern_and_follows_it(page: Page, login, shoot, portal_url: str) -> None:
    resident = f"Planted Beboer {uuid.uuid4().hex[:6]}"
    await login(page, "vicevaert")
    await shoot(page, "home-reporter")

    await page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Meld en bekymring").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Meld en bekymring")
    await shoot(page, "report-form")

    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_label("Lejemål").fill("17-0042")
    await page.get_by_role("checkbox", name="Tegn på demens").check()
    await page.get_by_role("radio", name="Høj").check()
    # The description is left empty and the resident's e-mail is wrong: intake refuses both.
    await page.get_by_label("Beboerens navn").fill(resident)
    await page.get_by_label("Beboerens e-mail").fill("ikke-en-mail")
    await page.get_by_role("radio", name=re.compile("^Ja, beboeren har sagt ja")).check()
    await page.get_by_role("button", name="Send bekymringen").click()

    summary = page.locator("#fejl")
    await expect(summary).to_be_visible()
    await expect(summary).to_be_focused()
    description = page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt"))
    await expect(page.locator("#description-fejl")).to_contain_text("Skriv, hvad du har set eller hørt")
    await expect(description).to_have_attribute("aria-invalid", "true")
    await expect(description).to_have_attribute("aria-describedby", re.compile(r"\bdescription-fejl\b"))
    email = page.get_by_label("Beboerens e-mail")
    await expect(page.locator("#resident-email-fejl")).to_be_visible()
    await expect(email).to_have_attribute("aria-describedby", re.compile(r"\bresident-email-fejl\b"))
    # Nothing typed is lost.
    await expect(page.get_by_label("Afdeling")).to_have_value("holbaek-1")
    await expect(page.get_by_label("Lejemål")).to_have_value("17-0042")
    await expect(page.get_by_role("checkbox", name="Tegn på demens")).to_be_checked()
    await expect(page.get_by_role("radio", name="Høj")).to_be_checked()
    await expect(page.get_by_label("Beboerens navn")).to_have_value(resident)
    await expect(email).to_have_value("ikke-en-mail")
    await expect(page.get_by_role("radio", name=re.compile("^Ja, beboeren har sagt ja"))).to_be_checked()
    await shoot(page, "report-form-errors")

    await description.fill("Beboeren virker forvirret, har flere gange ikke kunnet finde sin egen opgang.")
    await email.fill("beboer@example.dk")
    await page.get_by_role("button", name="Send bekymringen").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Tak – bekymringen er modtaget")
    code = (await page.locator("#kvitteringskode").inner_text()).strip()
    assert CODE.match(code), code
    await expect(page.get_by_role("heading", name="Tegn på demens")).to_be_visible()
    await expect(page.get_by_role("heading", name="Det kan du gøre nu").first).to_be_visible()
    await expect(page.get_by_role("heading", name="Det skal du undgå").first).to_be_visible()
    await expect(page.get_by_role("heading", name="Hvornår du skal ringe 112").first).to_be_visible()
    await shoot(page, "receipt")

    await page.get_by_role("link", name="Følg bekymringen").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    await expect(page.locator("#status")).not_to_be_empty()
    await expect(page.get_by_role("heading", name="Hvem har bekymringen")).to_be_visible()
    assert resident not in await page.content()
    await shoot(page, "follow-concern")

    # By the code as a person types it from a note: lower case, no dash.
    await page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Følg en bekymring").click()
    await page.get_by_label("Kvitteringskode").fill(code.replace("-", "").lower())
    await page.get_by_role("button", name="Find bekymringen").click()
    await expect(page).to_have_url(f"{portal_url}/bekymringer/{code}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(code)

    await page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Mine bekymringer").click()
    await expect(page.get_by_role("link", name=code)).to_be_visible()
    assert resident not in await page.content()
    await shoot(page, "my-concerns")


async def test_a_code_that_is_not_mine_is_not_found(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    await page.goto(f"{portal_url}/foelg")
    await page.get_by_label("Kvitteringskode").fill("ZZZZ-2222")
    await page.get_by_role("button", name="Find bekymringen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bekymringen blev ikke fundet")
    await expect(page.locator("#kode-fejl")).to_be_visible()


async def test_a_post_without_the_csrf_token_is_refused(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    answer = await page.request.post(
        f"{portal_url}/bekymringer/ny", form={"department_id": "holbaek-1", "description": "x"}, max_redirects=0
    )
    assert answer.status == 403
    assert "Formularen blev afvist" in await answer.text()


async def test_the_report_form_asks_for_login_first(page: Page, portal_url: str) -> None:
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.wait_for_selector("#username")
    assert "/realms/" in page.url


async def test_logout_ends_the_session_on_the_server_and_at_the_provider(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    cookie = next(c for c in await page.context.cookies() if c["name"] == "portal_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    await page.get_by_role("button", name="Log ud").click()
    await expect(page.get_by_role("link", name="Log ind").first).to_be_visible()
    assert page.url.startswith(portal_url)

    # The old cookie opens nothing: the session is gone server-side, and Keycloak asks for the password again.
    await page.context.add_cookies([cookie])
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.wait_for_selector("#username")
    assert "/realms/" in page.url


def _admin_token() -> str:
    clients = json.loads(Path(os.environ["CREDENTIALS_FILE"]).read_text())
    clients = clients["clients"] if isinstance(clients, dict) else clients
    return next(c["token"] for c in clients if c["role"] == "admin")


async def _report(page: Page, portal_url: str, resident: str) -> str:
    """A complete report through the form; returns the receipt code."""
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_role("checkbox", name="Ensomhed").check()
    await page.get_by_role("radio", name="Lav").check()
    await page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt")).fill("Beboeren ses aldrig ude.")
    await page.get_by_label("Beboerens navn").fill(resident)
    await page.get_by_role("radio", name=re.compile("^Beboeren er ikke spurgt")).check()
    await page.get_by_role("button", name="Send bekymringen").click()
    return (await page.locator("#kvitteringskode").inner_text()).strip()


async def test_after_erasure_the_reporter_sees_nothing_of_it(page: Page, login, shoot, portal_url: str) -> None:
    resident = f"Planted Slettet {uuid.uuid4().hex[:6]}"
    await login(page, "vicevaert")
    code = await _report(page, portal_url, resident)
    assert CODE.match(code), code
    headers = {"Authorization": f"Bearer {_admin_token()}"}
    async with httpx.AsyncClient(base_url=os.environ["INTAKE_URL"], headers=headers, timeout=10) as intake:
        concern = (await intake.get(f"/v1/concerns/{code}")).raise_for_status().json()
        (await intake.post(f"/v1/concerns/{concern['id']}/erasure")).raise_for_status()

    await page.goto(f"{portal_url}/bekymringer/{code}")
    content = await page.content()
    assert resident not in content
    assert "Beboeren ses aldrig ude" not in content
    await expect(page.get_by_text(re.compile("slettet"))).not_to_have_count(0)
    await expect(page.get_by_role("heading", name="Hvem har bekymringen")).to_have_count(0)
    await shoot(page, "follow-erased")


async def test_a_consultant_may_report_too(page: Page, login, portal_url: str) -> None:
    await login(page, "konsulent")
    code = await _report(page, portal_url, f"Planted Konsulent {uuid.uuid4().hex[:6]}")
    assert CODE.match(code), code
    await page.goto(f"{portal_url}/bekymringer")
    await expect(page.get_by_role("link", name=code)).to_be_visible()


async def test_other_roles_are_not_shown_the_report_form(page: Page, login, portal_url: str) -> None:
    await login(page, "kommune-0316")
    answer = await page.goto(f"{portal_url}/bekymringer/ny")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Du har ikke adgang til siden")
    await expect(
        page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Meld en bekymring")
    ).to_have_count(0)
