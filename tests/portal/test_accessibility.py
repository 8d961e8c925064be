"""Accessibility of every portal page: axe-core (WCAG 2.0 and 2.1, A and AA) finds 0 violations on each page as each
role meets it, and the report form is used with the keyboard alone (Tab, Shift+Tab, Space, Enter, the arrow keys):
filled, refused, corrected and sent, with a visible focus on every control and a focus order that follows the page.

axe runs inside the page with its CSP on (tests/portal/support/axe.py). A test collects every page's violations
before it fails, so one run names them all: rule id, impact, help, the failing element and what to fix.
"""

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.portal.support.axe import axe_results, describe
from tests.portal.support.concerns import one, referral, referrals_of, report_concern
from tests.portal.support.keyboard import Focus, focused, follows_visually

pytestmark = pytest.mark.portal

DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
REVIEW: dict[str, dict] = {}
"""axe's "needs review" results (incomplete: what axe could not decide, e.g. a contrast over an image), per page."""


def _keep_review() -> None:
    """The needs-review results so far, in test-artifacts/portal/axe-needs-review.json, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe-needs-review.json"
    try:
        known = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        known = {}
    path.write_text(json.dumps(known | REVIEW, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


class Audit:
    """axe's findings over several pages; `done()` fails with all of them."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.checked: list[str] = []
        self.failures: list[str] = []

    async def check(self, what: str) -> None:
        await self.page.wait_for_load_state("load")
        results = await axe_results(self.page)
        violations = results["violations"]
        self.checked.append(what)
        if results["incomplete"]:
            REVIEW[what] = {
                "url": self.page.url,
                "needs_review": {v["id"]: len(v["nodes"]) for v in results["incomplete"]},
            }
        if violations:
            self.failures.append(f"{what} ({self.page.url}):\n{describe(violations)}")

    async def visit(self, url: str, what: str, status: int = 200) -> None:
        response = await self.page.goto(url)
        answered = response.status if response else None
        assert answered == status, f"{what}: {url} answered {answered}"
        await self.check(what)

    async def with_details_open(self, what: str) -> None:
        """The same page with every <details> opened (their content is hidden from axe while closed)."""
        opened = await self.page.evaluate(
            "() => { const all = [...document.querySelectorAll('details')]; all.forEach((d) => d.open = true);"
            " return all.length; }"
        )
        if opened:
            await self.check(f"{what}, {opened} <details> opened")

    def done(self) -> None:
        _keep_review()
        assert not self.failures, (
            f"axe found WCAG 2.1 AA violations on {len(self.failures)} of {len(self.checked)} pages:\n\n"
            + "\n\n".join(self.failures)
        )


async def _fill_report_form(page: Page, resident: str, description: str = "") -> None:
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_role("checkbox", name="Tegn på demens").check()
    await page.get_by_role("radio", name="Middel").check()
    if description:
        await page.get_by_role("textbox", name=re.compile("^Hvad har du set eller hørt")).fill(description)
    await page.get_by_label("Beboerens navn").fill(resident)
    await page.get_by_role("radio", name=re.compile("^Beboeren er ikke spurgt")).check()


async def test_every_page_a_reporter_meets_has_no_violations(page: Page, login, portal_url: str) -> None:
    audit = Audit(page)
    await audit.visit(f"{portal_url}/", "the front page, logged out")
    await page.goto(f"{portal_url}/auth/login")
    await page.wait_for_selector("#username")
    await audit.check("Keycloak's login page (realm bekymring)")
    await login(page, "vicevaert")
    await audit.check("the front page of a caretaker")

    await audit.visit(f"{portal_url}/bekymringer/ny", "the report form, empty")
    await audit.with_details_open("the report form, empty")
    await page.get_by_role("button", name="Send bekymringen").click()
    await expect(page.locator("#fejl")).to_be_visible()
    await audit.check("the report form with field errors")
    await audit.with_details_open("the report form with field errors")

    await _fill_report_form(page, f"Tilgængelig Beboer {uuid.uuid4().hex[:6]}", "Beboeren virker forvirret i opgangen.")
    await page.get_by_role("button", name="Send bekymringen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tak – bekymringen er modtaget")
    await audit.check("the receipt page")
    await audit.with_details_open("the receipt page")
    code = (await page.locator("#kvitteringskode").inner_text()).strip()

    await audit.visit(f"{portal_url}/bekymringer/{code}", "the followed concern")
    await audit.visit(f"{portal_url}/foelg", "the follow form")
    await audit.visit(f"{portal_url}/foelg?kode=forkert", "the follow form with a field error", status=422)
    await audit.visit(f"{portal_url}/bekymringer", "my concerns")
    await audit.visit(f"{portal_url}/arbejdsliste", "the 403 page (a caretaker at the worklist)", status=403)
    await audit.visit(f"{portal_url}/findes-ikke", "the 404 page", status=404)

    await page.set_viewport_size(DESKTOP)
    await audit.visit(f"{portal_url}/bekymringer/ny", "the report form, empty, on a desktop")
    await audit.visit(f"{portal_url}/", "the front page of a caretaker, on a desktop")
    audit.done()


async def test_the_staff_desks_have_no_violations(page: Page, login, portal_url: str, browser_context) -> None:
    """The consultant's worklist and referral page, the municipality's inbox and referral, the association's list."""
    concern = await report_concern(
        department="holbaek-1", categories=["mental_health"], resident_name=f"Axe Beboer {uuid.uuid4().hex[:6]}"
    )
    lonely = await report_concern(
        department="holbaek-1", categories=["loneliness"], resident_name=f"Axe Ensom {uuid.uuid4().hex[:6]}"
    )
    referrals = await referrals_of(concern["id"], targets={"consultant", "municipality"})
    association = one(await referrals_of(lonely["id"], targets={"association"}), "association")
    audit = Audit(page)

    await login(page, "konsulent")
    consultant = one(referrals, "consultant")
    await audit.visit(f"{portal_url}/arbejdsliste", "the consultant's worklist")
    await audit.visit(f"{portal_url}/arbejdsliste?vis=alle", "the consultant's worklist, all referrals")
    await audit.visit(f"{portal_url}/arbejdsliste/{consultant['referral_id']}", "a consultant's referral")
    await page.locator("#handling-received").get_by_role("button").click()
    await expect(page.get_by_role("status")).to_contain_text("Gemt")
    await audit.check("a consultant's referral, acknowledged (a notice)")
    await page.locator("#handling-rejected").get_by_role("button").click()
    await expect(page.locator("#fejl")).to_be_visible()
    await audit.check("a consultant's referral, a rejection without its reason (field errors)")
    await page.set_viewport_size(DESKTOP)
    await audit.visit(f"{portal_url}/arbejdsliste/{consultant['referral_id']}", "a consultant's referral, desktop")

    municipality_page = await browser_context.browser.new_context(viewport=page.viewport_size, locale="da-DK")
    try:
        other = await municipality_page.new_page()
        audit_0316 = Audit(other)
        await login(other, "kommune-0316")
        municipality = one(referrals, "municipality")
        await audit_0316.visit(f"{portal_url}/indbakke", "the municipality's inbox")
        await audit_0316.visit(f"{portal_url}/indbakke?vis=alle", "the municipality's inbox, all referrals")
        await audit_0316.visit(f"{portal_url}/indbakke/{municipality['referral_id']}", "a municipality's referral")
        audit.failures += audit_0316.failures
        audit.checked += audit_0316.checked
    finally:
        await municipality_page.close()

    association_context = await browser_context.browser.new_context(viewport=page.viewport_size, locale="da-DK")
    try:
        volunteer = await association_context.new_page()
        audit_association = Audit(volunteer)
        await login(volunteer, "frivillig")
        await audit_association.visit(f"{portal_url}/arbejdsliste", "the association's worklist")
        await audit_association.visit(
            f"{portal_url}/arbejdsliste/{association['referral_id']}", "an association's referral"
        )
        audit.failures += audit_association.failures
        audit.checked += audit_association.checked
    finally:
        await association_context.close()
    audit.done()


async def test_the_admin_pages_have_no_violations(page: Page, login, portal_url: str) -> None:
    audit = Audit(page)
    await login(page, "admin")
    await audit.check("the front page of an admin")
    await audit.visit(f"{portal_url}/admin/regler", "the rules' versions")
    versions = await page.locator('a[href^="/admin/regler/"]').evaluate_all("(links) => links.map((a) => a.href)")
    shown = [v for v in versions if not v.endswith("/forskel")][:1]
    diffs = [v for v in versions if v.endswith("/forskel")][:1]
    for url in shown:
        await audit.visit(url, "one version of the rules")
    for url in diffs:
        await audit.visit(url, "a version's diff against the one before")
    await audit.visit(f"{portal_url}/admin/simulering", "the simulation form")
    await page.get_by_role("button", name="Simulér").click()
    await page.wait_for_load_state("load")
    await audit.check("the simulation form with field errors")
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.locator('input[name="categories"][value="rent_arrears"]').check()
    await page.locator('input[name="severity"][value="high"]').check()
    await page.locator('input[name="consent"][value="not_asked"]').check()
    await page.get_by_role("button", name="Simulér").click()
    await expect(page.locator("#simulering-resultat")).to_be_visible()
    await audit.check("a simulation's result")
    await audit.visit(f"{portal_url}/admin/klienter", "the API clients")
    await audit.visit(f"{portal_url}/admin/webhooks", "the webhook subscriptions and failed deliveries")
    await page.set_viewport_size(DESKTOP)
    await audit.visit(f"{portal_url}/admin/regler", "the rules' versions, desktop")
    for url in diffs:
        await audit.visit(url, "a version's diff, desktop")
    audit.done()


# -- the keyboard alone ----------------------------------------------------------------------------------------------

SEND = "Send bekymringen"
ORDER_FILE = ARTIFACTS / "keyboard-report-form.txt"


class KeyboardWalk:
    """Tab through a page, acting on each stop as `plan` says, checking each focus as it goes."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops: list[Focus] = []
        self.problems: list[str] = []

    async def focus_check(self, now: Focus) -> None:
        if not now.focus_visible or not now.indicator_visible:
            self.problems.append(
                f"no visible focus on {now.describe()} (outline {now.outline_style} {now.outline_width}px, "
                f"box-shadow {now.box_shadow})"
            )
        if not now.in_view:
            self.problems.append(f"{now.describe()} has focus but is not scrolled into view")

    async def tab(self, key: str = "Tab") -> Focus:
        """Press Tab (or Shift+Tab) until focus lands on another control (a date's segments are one control)."""
        before = await focused(self.page)
        for _ in range(6):
            await self.page.keyboard.press(key)
            now = await focused(self.page)
            if now is not None and (before is None or now.key != before.key):
                return now
        raise AssertionError(f"{key} does not leave {before and before.describe()}")

    async def choose_radio(self, want: str) -> None:
        for _ in range(12):
            now = await focused(self.page)
            if now.value == want:
                if not now.checked:
                    await self.page.keyboard.press("Space")
                return
            await self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reach {want!r} in {now.name}")

    async def choose_option(self, want: str) -> None:
        for _ in range(40):
            now = await focused(self.page)
            if now.value == want:
                return
            await self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reach {want!r} in <select name={now.name}>")

    async def act(self, now: Focus, plan: dict) -> None:
        """What a keyboard user does at this stop: type, tick with Space, pick with the arrows, open with Enter."""
        want = plan.get(now.name)
        if now.tag == "summary":
            await self.page.keyboard.press("Enter")
            is_open = await self.page.evaluate("() => document.activeElement.parentElement.open")
            assert is_open, f"Enter does not open {now.describe()}"
        elif want is None:
            return
        elif now.type == "radio":
            await self.choose_radio(want)
        elif now.type == "checkbox":
            if (now.value in want) != now.checked:
                await self.page.keyboard.press("Space")
        elif now.tag == "select":
            await self.choose_option(want)
        elif now.tag in ("input", "textarea") and not now.value:
            await self.page.keyboard.type(want)

    async def until(self, done, plan: dict, limit: int = 120) -> Focus:  # noqa: ANN001 - a predicate on Focus
        """Tab on, acting at each stop, until `done(focus)`; every stop is recorded and checked."""
        for _ in range(limit):
            now = await self.tab()
            await self.focus_check(now)
            if self.stops and not follows_visually(self.stops[-1], now):
                self.problems.append(f"focus goes back up the page: {self.stops[-1].describe()} -> {now.describe()}")
            self.stops.append(now)
            if done(now):
                return now
            await self.act(now, plan)
        raise AssertionError(f"no stop matched within {limit} presses of Tab: {[s.describe() for s in self.stops]}")


def _is_send(focus: Focus) -> bool:
    return focus.tag == "button" and focus.text == SEND


async def test_the_report_form_is_filled_refused_corrected_and_sent_with_the_keyboard_alone(
    page: Page, login, portal_url: str
) -> None:
    resident = f"Tastatur Beboer {uuid.uuid4().hex[:6]}"
    await login(page, "vicevaert")
    await page.goto(f"{portal_url}/bekymringer/ny")
    await page.locator("body").focus()
    walk = KeyboardWalk(page)
    # First pass: everything but what was observed; Enter on the button sends it.
    plan = {
        "department_id": "holbaek-1",
        "categories": {"dementia_signs", "loneliness"},
        "severity": "medium",
        "reporter.role": "caretaker",
        "resident.name": resident,
        "consent": "not_asked",
    }
    first = await walk.until(_is_send, plan)
    ORDER_FILE.parent.mkdir(parents=True, exist_ok=True)
    ORDER_FILE.write_text("".join(f"{i:2d}. {s.describe()} ({s.name or s.id})\n" for i, s in enumerate(walk.stops, 1)))
    assert walk.stops[0].text == "Gå til indholdet", f"the skip link is not the first stop: {walk.stops[0].describe()}"
    names = [s.name for s in walk.stops]
    for field in ("department_id", "tenancy_id", "categories", "severity", "description", "consent"):
        assert field in names, f"Tab never reaches {field}: {[s.describe() for s in walk.stops]}"

    # Shift+Tab goes back the same way.
    back = [s.key for s in reversed(walk.stops[:-1])][:6]
    seen = []
    for _ in back:
        seen.append((await walk.tab("Shift+Tab")).key)
    assert seen == back, f"Shift+Tab does not retrace Tab: {seen} != {back}"
    for _ in back:
        await walk.tab()
    assert _is_send(await focused(page)), "Tab does not return to the send button"

    await page.keyboard.press("Enter")
    await page.wait_for_load_state("load")
    summary = page.locator("#fejl")
    await expect(summary).to_be_visible()
    await expect(summary).to_be_focused()
    # The summary's link to the field moves the keyboard there.
    link = await walk.tab()
    assert link.tag == "a" and "Hvad har du set eller hørt" in link.text, f"first stop after the summary: {link}"
    await walk.focus_check(link)
    await page.keyboard.press("Enter")
    at = await focused(page)
    if at is None or at.name != "description":
        # Chromium moves the sequential-focus start to the link's target: one Tab reaches the field after it, so
        # the field itself is one Shift+Tab back when it did not take focus.
        at = await walk.tab("Tab")
        if at.name != "description":
            at = await walk.tab("Shift+Tab")
    assert at.name == "description", f"the summary's link does not lead to the field: {at.describe()}"
    await page.keyboard.type("Beboeren virker forvirret og har ikke kunnet finde sin egen opgang.")
    # Nothing typed was lost; Tab on to the button and send.
    walk.stops = [at]
    second = await walk.until(_is_send, {})
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tak – bekymringen er modtaget")
    assert first.key == second.key
    # What the keys chose is what was sent: the guidance of both categories ticked with Space.
    await expect(page.locator("#vejledning-dementia_signs")).to_be_visible()
    await expect(page.locator("#vejledning-loneliness")).to_be_visible()
    code = (await page.locator("#kvitteringskode").inner_text()).strip()
    await page.goto(f"{portal_url}/bekymringer/{code}")
    await expect(page.get_by_text("Middel", exact=True)).to_be_visible()
    assert not walk.problems, "keyboard problems on the report form:\n" + "\n".join(walk.problems)


async def test_the_follow_form_works_with_the_keyboard_alone(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    await page.goto(f"{portal_url}/foelg")
    await page.locator("body").focus()
    walk = KeyboardWalk(page)
    field = await walk.until(lambda f: f.tag == "input" and f.type in ("text", "search", ""), {})
    await page.keyboard.type("forkert")
    await page.keyboard.press("Enter")
    await page.wait_for_load_state("load")
    assert page.url.startswith(f"{portal_url}/foelg"), page.url
    await expect(page.locator("input[name=kode]")).to_have_attribute("aria-invalid", "true")
    assert field.name == "kode"
    assert not walk.problems, "keyboard problems on the follow form:\n" + "\n".join(walk.problems)


async def test_a_consultant_works_a_referral_to_completion_with_the_keyboard_alone(
    page: Page, login, portal_url: str
) -> None:
    """The referral page's move forms: each button reached with Tab and pressed with Enter, the outcome picked from
    its list with the arrow keys and a note typed, until the referral is completed."""
    concern = await report_concern(
        department="holbaek-1", categories=["hoarding"], resident_name=f"Tastatur Sag {uuid.uuid4().hex[:6]}"
    )
    consultant = one(await referrals_of(concern["id"], targets={"consultant"}), "consultant")
    url = f"{portal_url}/arbejdsliste/{consultant['referral_id']}"
    await login(page, "konsulent")
    problems: list[str] = []
    for button, plan, status in (
        ("Kvittér for modtagelsen", {}, "received"),
        ("Acceptér henvisningen", {}, "accepted"),
        ("Start arbejdet", {}, "in_progress"),
        ("Afslut med et resultat", {"outcome": "support_established", "note": "Aftale om bostøtte er på plads."},
         "completed"),
    ):  # fmt: skip
        await page.goto(url)
        await page.locator("body").focus()
        walk = KeyboardWalk(page)
        await walk.until(lambda f, b=button: f.tag == "button" and f.text == b, plan)
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(re.escape(url) + r"\?flyttet="))
        await expect(page.get_by_role("status")).to_contain_text("Gemt")
        problems += walk.problems
        moved = await referral(consultant["referral_id"])
        assert moved["status"] == status, f"after {button!r}: {moved['status']}"
    assert moved["outcome"] == "support_established"
    assert not problems, "keyboard problems on the referral page:\n" + "\n".join(problems)
