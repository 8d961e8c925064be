"""The portal tier: Debian's Chromium (Playwright) against the running test stack's portal and Keycloak.

`portal_url` is the stack's PORTAL_URL; `login(page, "vicevaert")` logs a demo person in through Keycloak's real
login page (passwords from the stack's credentials.json, "people"); `shoot(page, name)` keeps a full-page
screenshot under test-artifacts/portal/. Every page a test opens is watched: a CSP violation or a script error in
the browser fails the test.
"""

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.portal.support.oidc import people
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
MOBILE = {"width": 390, "height": 844}
"""Mobile first: the journeys run in a phone-sized window."""


@pytest.fixture(scope="session")
def portal_url() -> str:
    """The portal of the running test stack (PORTAL_URL of its stack.env)."""
    url = os.environ.get("PORTAL_URL")
    if not url:
        pytest.skip("the test stack's stack.env has no PORTAL_URL: the stack runs no portal")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def demo_people() -> dict[str, dict]:
    """username -> {password, role} of the demo realm's people."""
    return people()


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium (never `playwright install`), one per session."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def browser_context(chromium: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, phone-sized, Danish."""
    context = await chromium.new_context(viewport=MOBILE, locale="da-DK", timezone_id="Europe/Copenhagen")
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> AsyncIterator[Page]:
    """A page whose console is watched: CSP violations and script errors fail the test."""
    page = await browser_context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and _counts(m.text) else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    assert not problems, f"the browser reported errors: {problems}"


def _counts(text: str) -> bool:
    # A refused form's 4xx answer is logged by Chromium as a failed resource; it is the page working as meant.
    return not re.search(r"Failed to load resource: the server responded with a status of 4\d\d", text)


@pytest.fixture
def login(portal_url: str, demo_people: dict[str, dict]) -> Callable[..., Awaitable[None]]:
    """`await login(page, "vicevaert")`: through the portal's login button and Keycloak's own login form."""

    async def log_in(page: Page, user: str, next_path: str = "/") -> None:
        await page.goto(f"{portal_url}{next_path}")
        if next_path == "/":
            await page.get_by_role("link", name="Log ind").first.click()
        await page.wait_for_selector("#username")
        await page.fill("#username", user)
        await page.fill("#password", demo_people[user]["password"])
        await page.click("#kc-login")
        await page.wait_for_url(re.compile("^" + re.escape(portal_url) + "/"))
        await page.get_by_role("button", name="Log ud").wait_for()

    return log_in


@pytest.fixture
def shoot() -> Callable[[Page, str], Awaitable[Path]]:
    """`await shoot(page, "report-form")`: a full-page screenshot in test-artifacts/portal/."""

    async def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
