"""Journeys 3, 4 and 5 as staff do them, by clicking and typing after a real Keycloak login: the consultant works a
referral from acknowledgement to completion and rejects another (and sees where it went), reads an obtain_consent
task in the guidance's words and a case whose details intake discloses (the read audited under the person's name);
Holbæk's municipality sees its referral with the suggested function, not Kalundborg's and not the resident's name
of an anonymous consultation; the admin diffs two rules versions and simulates a concern. A reporter is refused
the worklist. Screenshots under test-artifacts/portal/.

The referrals are real: concerns reported to the test stack's intake with the demo reporter client's token, routed
by routing. Needs the test stack's stack.env with the portal and Keycloak (PORTAL_URL, OIDC_ISSUER).
"""

import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.portal.support.axe import assert_accessible
from tests.portal.support.keyboard import focused
from tests.support.polling import eventually

pytestmark = pytest.mark.portal

ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name) or default
    if not value:
        pytest.skip(f"{name} is not set: load the test stack's stack.env")
    return value


def _clients() -> list[dict]:
    path = Path(os.environ.get("CREDENTIALS_FILE") or ROOT / ".local" / "test" / "credentials.json")
    data = json.loads(path.read_text())
    return data["clients"] if isinstance(data, dict) else data


def _token(role: str, municipality: str | None = None) -> str:
    for client in _clients():
        if client["role"] == role and (municipality is None or client.get("municipality") == municipality):
            return client["token"]
    raise LookupError(f"no demo API client of role {role}")


@pytest.fixture
async def api() -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """intake and routing of the test stack, as demo API clients (reporter reports, admin looks)."""
    intake = httpx.AsyncClient(base_url=_env("INTAKE_URL"), timeout=10)
    routing = httpx.AsyncClient(base_url=_env("ROUTING_URL"), timeout=10)
    try:
        yield {"intake": intake, "routing": routing}
    finally:
        await intake.aclose()
        await routing.aclose()


def _as(role: str, municipality: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(role, municipality)}"}


async def report(api: dict, department: str, categories: list[str], severity: str, consent: str, resident: str) -> str:
    """A concern reported to intake by the demo reporter client; its id."""
    body = {
        "department_id": department,
        "categories": categories,
        "severity": severity,
        "description": "Portaltest: en opdigtet bekymring, meldt af testen.",
        "observed_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Portaltest Vicevært", "contact": "portaltest@example.dk"},
        "resident": {"name": resident},
        "consent": consent,
    }
    answer = await api["intake"].post(
        "/v1/concerns", json=body, headers={**_as("reporter"), "Idempotency-Key": str(uuid.uuid4())}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def referral_of(api: dict, concern_id: str, target: str, within: float = 60.0) -> dict:
    """Routing's referral of the concern to `target`, once routing has made it."""
    found: dict = {}

    async def made() -> bool:
        answer = await api["routing"].get("/v1/referrals", params={"concern_id": concern_id}, headers=_as("admin"))
        for item in answer.json().get("items", []) if answer.status_code == 200 else []:
            if item["target"] == target:
                found.update(item)
        return bool(found)

    await eventually(made, within=within, what=f"routing's {target} referral of the concern")
    return found


async def find_on_desk(page: Page, portal_url: str, desk: str, referral_id: str, *, go: bool = True) -> Locator:
    """The referral's list item, paging on with "Næste side" as a person does (the desks list 50 a page)."""
    if go:
        await page.goto(f"{portal_url}{desk}")
    item = page.locator(f'[data-referral-id="{referral_id}"]')
    for _ in range(20):
        if await item.count():
            break
        following = page.get_by_role("navigation", name="Sider").get_by_role("link", name="Næste side")
        if not await following.count():
            break
        await following.click()
        await page.wait_for_load_state()
    await expect(item).to_be_visible()
    return item


async def open_referral(page: Page, portal_url: str, desk: str, referral_id: str) -> None:
    """From the desk's list, the way a person does it: the list item's link."""
    item = await find_on_desk(page, portal_url, desk, referral_id)
    await item.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Henvisning")


async def test_the_consultant_works_one_referral_to_completion_and_rejects_another(
    page: Page, login, shoot, portal_url: str, api: dict
) -> None:
    resident = f"Planted Beboer {uuid.uuid4().hex[:6]}"
    worked = await report(api, "holbaek-2", ["neglect_of_dwelling", "odour_nuisance"], "medium", "not_asked", resident)
    rejected = await report(api, "holbaek-2", ["noise"], "low", "not_asked", resident)
    to_work = await referral_of(api, worked, "consultant")
    to_reject = await referral_of(api, rejected, "consultant")

    await login(page, "konsulent", "/arbejdsliste")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Arbejdsliste")
    await find_on_desk(page, portal_url, "/arbejdsliste", to_work["referral_id"], go=False)
    await shoot(page, "worklist-consultant")
    await assert_accessible(page, "worklist-consultant")

    await open_referral(page, portal_url, "/arbejdsliste", to_work["referral_id"])
    status = page.locator("#status")
    await expect(status).to_have_text("Ny – ikke kvitteret")
    assert resident not in await page.content()  # no legal basis: the consultant sees the case without details
    await page.get_by_role("button", name="Kvittér for modtagelsen").click()
    await expect(status).to_have_text("Modtaget")
    await expect(page.get_by_role("status")).to_contain_text("Modtaget")
    await page.get_by_role("button", name="Acceptér henvisningen").click()
    await expect(status).to_have_text("Accepteret")
    await page.get_by_role("button", name="Start arbejdet").click()
    await expect(status).to_have_text("I gang")
    # Completing without an outcome is refused beside the field, with nothing moved.
    await page.get_by_role("button", name="Afslut med et resultat").click()
    await expect(page.locator("#outcome-fejl")).to_contain_text("Vælg, hvad resultatet blev")
    await expect(status).to_have_text("I gang")
    await page.get_by_label("Resultat").select_option("dwelling_restored")
    await page.locator("#note-completed").fill("Boligen er ryddet sammen med beboeren.")
    await page.get_by_role("button", name="Afslut med et resultat").click()
    await expect(status).to_have_text("Afsluttet")
    await expect(page.get_by_role("heading", name="Historik")).to_be_visible()
    await expect(page.locator(".history").first).to_contain_text("Boligen er bragt i orden")
    await shoot(page, "referral-completed")
    await assert_accessible(page, "referral-completed")
    stored = (await api["routing"].get(f"/v1/referrals/{to_work['referral_id']}", headers=_as("admin"))).json()
    assert stored["status"] == "completed" and stored["outcome"] == "dwelling_restored"
    assert [h["to_status"] for h in stored["history"]] == ["received", "accepted", "in_progress", "completed"]
    assert {h["changed_by_role"] for h in stored["history"]} == {"consultant"}

    await open_referral(page, portal_url, "/arbejdsliste", to_reject["referral_id"])
    await page.get_by_role("button", name="Kvittér for modtagelsen").click()
    await expect(page.locator("#status")).to_have_text("Modtaget")
    await page.get_by_label("Begrundelse").select_option("capacity")
    await page.get_by_role("button", name="Afvis henvisningen").click()
    await expect(page.locator("#status")).to_have_text("Afvist")
    went = page.locator("#sendt-videre")
    await expect(went).to_be_visible()
    stored = (await api["routing"].get(f"/v1/referrals/{to_reject['referral_id']}", headers=_as("admin"))).json()
    next_id = next(h["rerouted_to"] for h in stored["history"] if h["to_status"] == "rejected")
    successor = (await api["routing"].get(f"/v1/referrals/{next_id}", headers=_as("admin"))).json()
    await expect(went).to_contain_text(successor["recipient_id"])
    await shoot(page, "referral-rejected-rerouted")
    await assert_accessible(page, "referral-rejected-rerouted")


async def test_the_consultant_reads_the_consent_task_in_the_guidance_words_and_a_disclosed_case_audited(
    page: Page, login, shoot, portal_url: str, api: dict
) -> None:
    resident = f"Planted Beboer {uuid.uuid4().hex[:6]}"
    without = await report(api, "holbaek-1", ["dementia_signs"], "high", "not_asked", resident)
    consented = await report(api, "holbaek-1", ["dementia_signs"], "high", "given", resident)
    task = await referral_of(api, without, "consultant")
    disclosed = await referral_of(api, consented, "consultant")
    assert task["task"] == "obtain_consent" and disclosed["disclosure"] == "full"
    wording = (await api["intake"].get("/v1/guidance/dementia_signs", headers=_as("consultant"))).json()["consent"]

    await login(page, "konsulent", "/arbejdsliste")
    await open_referral(page, portal_url, "/arbejdsliste", task["referral_id"])
    await expect(page.locator("#opgave")).to_have_text("Indhente samtykke fra beboeren")
    await expect(page.get_by_role("heading", name="Opgave: indhent samtykke fra beboeren")).to_be_visible()
    await expect(page.locator(".guidance-text").first).to_have_text(wording)
    assert resident not in await page.content()
    # The resident's answer is registered with intake once the referral is acknowledged (test_security registers it).
    await expect(page.get_by_role("button", name="Kvittér for modtagelsen")).to_be_visible()
    await shoot(page, "referral-obtain-consent")
    await assert_accessible(page, "referral-obtain-consent")

    await open_referral(page, portal_url, "/arbejdsliste", disclosed["referral_id"])
    await expect(page.get_by_role("heading", name="Personoplysninger")).to_be_visible()
    await expect(page.locator(".details")).to_contain_text(resident)
    audit = (await api["intake"].get(f"/v1/concerns/{consented}/audit", headers=_as("admin"))).json()
    assert any(a["client_id"] == "person:konsulent" and a["action"] == "read_details" for a in audit), audit
    await shoot(page, "referral-disclosed")
    await assert_accessible(page, "referral-disclosed")


async def test_holbaek_sees_its_referral_and_the_suggested_function_and_not_kalundborgs(
    page: Page, login, shoot, portal_url: str, api: dict
) -> None:
    resident = f"Planted Beboer {uuid.uuid4().hex[:6]}"
    holbaek = await report(api, "holbaek-1", ["dementia_signs"], "high", "not_asked", resident)
    kalundborg = await report(api, "hoeng-1", ["dementia_signs"], "high", "not_asked", resident)
    ours = await referral_of(api, holbaek, "municipality")
    theirs = await referral_of(api, kalundborg, "municipality")
    assert ours["municipality_code"] == "0316" and theirs["municipality_code"] == "0326"

    await login(page, "kommune-0316", "/indbakke")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Indbakke")
    item = await find_on_desk(page, portal_url, "/indbakke", ours["referral_id"], go=False)
    await expect(item).to_contain_text("Demenskoordinator / ældreområdet")
    await expect(page.locator(f'[data-referral-id="{theirs["referral_id"]}"]')).to_have_count(0)
    await expect(page.get_by_role("heading", name="Kommunens svartider")).to_be_visible()
    await shoot(page, "inbox-0316")
    await assert_accessible(page, "inbox-0316")

    await item.get_by_role("link").click()
    await expect(page.locator("#foreslaaet-funktion")).to_have_text("Demenskoordinator / ældreområdet")
    await expect(page.get_by_text("Anonym drøftelse – uden personoplysninger").first).to_be_visible()
    assert resident not in await page.content()  # an anonymous consultation: no basis, no name
    await page.get_by_role("button", name="Kvittér for modtagelsen").click()
    await expect(page.locator("#status")).to_have_text("Modtaget")
    await shoot(page, "inbox-referral-0316")
    await assert_accessible(page, "inbox-referral-0316")

    # Kalundborg's referral is not Holbæk's to see or to move, by any page.
    seen = await page.goto(f"{portal_url}/indbakke/{theirs['referral_id']}")
    assert seen is not None and seen.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Siden findes ikke")
    stored = (await api["routing"].get(f"/v1/referrals/{theirs['referral_id']}", headers=_as("admin"))).json()
    assert stored["status"] == "requested"


async def test_a_reporter_is_refused_the_worklist(page: Page, login, portal_url: str) -> None:
    await login(page, "vicevaert")
    answer = await page.goto(f"{portal_url}/arbejdsliste")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Du har ikke adgang til siden")
    answer = await page.goto(f"{portal_url}/admin/regler")
    assert answer is not None and answer.status == 403


async def _a_second_version(api: dict) -> int:
    """The newest stored version, storing one (the rules in force, its description changed) when only one exists."""
    admin = _as("admin")
    versions = (await api["routing"].get("/v1/rules/versions", headers=admin)).json()["items"]
    if len(versions) >= 2:
        return versions[0]["version"]
    current = await api["routing"].get("/v1/rules", headers=admin)
    document = current.json()["document"]
    document["description"] = document.get("description", "") + " (gemt igen af portalens test)"
    stored = await api["routing"].put(
        "/v1/rules", json=document, headers={**admin, "If-Match": current.headers["ETag"]}
    )
    assert stored.status_code == 200, stored.text
    return stored.json()["version"]


async def test_the_admin_diffs_two_rules_versions_and_simulates_a_concern(
    page: Page, login, shoot, portal_url: str, api: dict
) -> None:
    newest = await _a_second_version(api)
    diff = (await api["routing"].get(f"/v1/rules/versions/{newest}/diff", headers=_as("admin"))).json()

    await login(page, "admin", "/admin/regler")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Regler for henvisning")
    await expect(page.locator(f'tr[data-version="{newest}"]')).to_be_visible()
    await shoot(page, "admin-rules")
    await assert_accessible(page, "admin-rules")
    await page.locator(f'tr[data-version="{newest}"]').get_by_role("link", name=re.compile("^Forskel")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Forskel på version {newest - 1} og version {newest}"
    )
    changed = [c["field"] for c in diff["fields"]] + [e["id"] for e in diff["rules"]["changed"]]
    assert changed, diff
    for name in changed:
        await expect(page.get_by_role("main")).to_contain_text(name)
    await expect(page.locator("pre.code")).to_contain_text(f"version {newest}")
    await shoot(page, "admin-rules-diff")
    await assert_accessible(page, "admin-rules-diff")

    await page.goto(f"{portal_url}/admin/regler")
    await page.get_by_role("link", name="simulér en bekymring").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Simulér en bekymring")
    await page.get_by_label("Afdeling").select_option("holbaek-1")
    await page.get_by_role("checkbox", name="Tegn på demens").check()
    await page.get_by_role("radio", name="Høj").check()
    await page.get_by_role("radio", name="Ikke spurgt").check()
    await page.get_by_role("button", name="Simulér").click()
    result = page.locator("#simulerede-henvisninger")
    await expect(result).to_be_visible()
    await expect(result.locator('tr[data-target="municipality"]')).to_contain_text("municipality-0316")
    await expect(result.locator('tr[data-target="municipality"]')).to_contain_text("Demenskoordinator")
    await expect(result.locator('tr[data-target="consultant"]')).to_contain_text("Indhente samtykke fra beboeren")
    await shoot(page, "admin-simulation")
    await assert_accessible(page, "admin-simulation")


async def test_the_admin_sees_a_webhook_subscription_and_stops_it(page: Page, login, shoot, portal_url: str) -> None:
    municipality = {"Authorization": f"Bearer {_token('municipality', '0316')}"}
    async with httpx.AsyncClient(base_url=_env("NOTIFY_URL"), timeout=10) as notify:
        created = await notify.post(
            "/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/portaltest", "event_types": ["referral.escalated.v1"],
                  "description": f"Portaltest {uuid.uuid4().hex[:6]}"},
            headers=municipality,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        subscription = created.json()
        try:
            await login(page, "admin", "/admin/webhooks")
            await expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks og fejlede leveringer")
            record = page.locator(f'[data-subscription-id="{subscription["id"]}"]')
            await expect(record).to_contain_text(subscription["description"])
            await expect(record).to_contain_text("Eskaleret")
            await expect(page.get_by_role("heading", name="Fejlede leveringer", exact=True)).to_be_visible()
            await shoot(page, "admin-webhooks")
            await assert_accessible(page, "admin-webhooks")
            await record.get_by_role("button", name=re.compile("^Stop abonnementet")).click()
            await expect(page.get_by_role("status")).to_contain_text("Abonnementet er stoppet")
            await expect(page.locator(f'[data-subscription-id="{subscription["id"]}"]')).to_have_count(0)
            gone = await notify.get(f"/v1/subscriptions/{subscription['id']}", headers=municipality)
            assert gone.status_code == 404
        finally:
            await notify.delete(f"/v1/subscriptions/{subscription['id']}", headers=municipality)


async def tab_to(page: Page, what: str, *, limit: int = 80) -> None:
    """Press Tab until the focused control's label or text starts with `what` (its focus drawn and in view)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if now is not None and (now.label.startswith(what) or now.text.startswith(what)):
            assert now.indicator_visible and now.in_view, now.describe()
            return
    raise AssertionError(f"Tab never reached {what!r}")


async def test_the_municipality_acknowledges_and_rejects_with_the_keyboard_alone(
    page: Page, login, portal_url: str, api: dict
) -> None:
    concern = await report(api, "holbaek-2", ["substance_abuse"], "medium", "not_asked", "Planted Beboer")
    ours = await referral_of(api, concern, "municipality")
    await login(page, "kommune-0316", f"/indbakke/{ours['referral_id']}")
    await expect(page.locator("#status")).to_have_text("Ny – ikke kvitteret")
    await tab_to(page, "Kvittér for modtagelsen")
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("Modtaget")
    await tab_to(page, "Begrundelse")
    await page.keyboard.press("ArrowDown")  # the first reason; a closed select changes with the arrow keys
    await tab_to(page, "Note til historikken")
    await page.keyboard.type("Ikke kommunens opgave; konsulenten tager den.")
    await tab_to(page, "Afvis henvisningen")
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("Afvist")
    await expect(page.locator("#sendt-videre")).to_be_visible()
    stored = (await api["routing"].get(f"/v1/referrals/{ours['referral_id']}", headers=_as("admin"))).json()
    assert stored["status"] == "rejected" and stored["reject_reason"] == "not_our_responsibility"
    assert stored["history"][-1]["note"] == "Ikke kommunens opgave; konsulenten tager den."
