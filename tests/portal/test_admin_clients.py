"""Journey 5, API clients, as the admin does it after a real Keycloak login: a client without the scope its role
needs is refused beside the field (nothing typed lost), a municipality client is created and its token shown once
with the warning to store it, the token works at routing within seconds, a revoke without the CSRF token is
refused, the revoke button stops the token everywhere. Screenshots under test-artifacts/portal/.

Needs the test stack's stack.env with the portal and Keycloak (PORTAL_URL, OIDC_ISSUER, ROUTING_URL).
"""

import os
import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.portal.support.axe import assert_accessible
from tests.support.polling import eventually

pytestmark = pytest.mark.portal


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: load the test stack's stack.env")
    return value


async def _whoami_answers(token: str, status: int) -> None:
    async with httpx.AsyncClient(base_url=_env("ROUTING_URL"), timeout=10) as routing:

        async def answers() -> bool:
            return (await routing.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})).status_code == status

        await eventually(answers, within=10, what=f"routing's /v1/whoami answering {status}")


async def test_the_admin_creates_a_client_sees_its_token_once_and_revokes_it(
    page: Page, login, shoot, portal_url: str
) -> None:  # noqa: ANN001
    name = f"Portaltest kommune {uuid.uuid4().hex[:6]}"
    await login(page, "admin", "/admin/klienter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("API-klienter")
    await expect(page.locator("table")).to_contain_text("demo-admin")
    assert await page.locator("#ny-noegle").count() == 0
    await shoot(page, "admin-clients")
    await assert_accessible(page, "admin-clients")

    # The role needs its municipality code: intake refuses, the page says so beside the field and keeps the name.
    await page.get_by_label("Navn", exact=True).fill(name)
    await page.get_by_label("Kommune", exact=True).check()
    await page.get_by_role("button", name="Opret klient").click()
    await expect(page.locator("#municipality-code-fejl")).to_contain_text("kommunekoden")
    await expect(page.get_by_label("Navn", exact=True)).to_have_value(name)
    await expect(page.get_by_role("alert")).to_contain_text("Kommunekode")
    await shoot(page, "admin-clients-error")
    await assert_accessible(page, "admin-clients-error")

    await page.get_by_label("Kommunekode").fill("0316")
    await page.get_by_role("button", name="Opret klient").click()
    panel = page.locator("#ny-klient-panel")
    await expect(panel).to_contain_text(f"Klienten „{name}“ er oprettet")
    await expect(panel).to_contain_text("Gem nøglen nu")
    await expect(panel).to_contain_text("vises kun denne ene gang")
    token = (await page.locator("#ny-noegle").inner_text()).strip()
    assert re.fullmatch(r"crp_[A-Za-z0-9_-]{20,}", token), "no token shown"
    await shoot(page, "admin-clients-created")
    await assert_accessible(page, "admin-clients-created")
    await _whoami_answers(token, 200)

    row = page.locator("tr", has_text=name)
    await expect(row).to_contain_text("Kommune")
    await expect(row).to_contain_text("0316")
    await expect(row).to_contain_text("af person:admin")
    client_id = await row.get_attribute("data-client-id")
    assert client_id and client_id.startswith("cli_")

    # Shown once: the list, loaded again, never holds the token.
    await page.goto(f"{portal_url}/admin/klienter")
    assert token not in await page.content()
    row = page.locator(f'tr[data-client-id="{client_id}"]')
    await expect(row).to_contain_text("Aktiv")

    # A revoke without the session's CSRF token is refused and changes nothing.
    refused = await page.request.post(
        f"{portal_url}/admin/klienter/{client_id}/tilbagekald", form={"csrf_token": "forged"}, max_redirects=0
    )
    assert refused.status == 403 and "Formularen blev afvist" in await refused.text()
    await _whoami_answers(token, 200)

    await row.get_by_role("button", name=re.compile("^Tilbagekald")).click()
    await expect(page.get_by_role("status")).to_contain_text("Klienten er tilbagekaldt")
    row = page.locator(f'tr[data-client-id="{client_id}"]')
    await expect(row).to_contain_text("Tilbagekaldt")
    await expect(row).to_contain_text("af person:admin")
    await expect(row.get_by_role("button")).to_have_count(0)
    await _whoami_answers(token, 401)
    await shoot(page, "admin-clients-revoked")


async def test_a_consultant_gets_the_danish_403_for_the_clients_page(page: Page, login, portal_url: str) -> None:
    await login(page, "konsulent")
    answer = await page.goto(f"{portal_url}/admin/klienter")
    assert answer is not None and answer.status == 403
    refused = await page.request.post(f"{portal_url}/admin/klienter", form={"name": "x", "role": "admin"})
    assert refused.status == 403
