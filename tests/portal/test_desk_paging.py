"""The staff desks page their lists: 50 referrals a page in worklist order, "Næste side"/"Forrige side" between
them, the open/all choice kept across pages."""

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from services.portal.domain.paging import PAGE_SIZE as PAGE
from tests.portal.support.concerns import referrals_of, report_concern

pytestmark = pytest.mark.portal


@pytest.fixture(scope="module")
async def more_than_a_page() -> None:
    """A page and a few more concerns in holbaek-1 (Holbæk, 0316): each gives the consultant and the municipality a
    referral, so both desks have a second page on any stack, a fresh one too."""
    for _ in range(PAGE + 5):
        for attempt in range(10):
            try:
                last = await report_concern(
                    department="holbaek-1", categories=["mental_health"], resident_name="Sidetest"
                )
                break
            except AssertionError:  # a 429 from intake's per-client limit: wait for the bucket
                if attempt == 9:
                    raise
                await asyncio.sleep(2)
    await referrals_of(last["id"], targets={"consultant", "municipality"}, within=120)


async def _ids(page: Page) -> list[str]:
    return [i for i in await page.locator("li.referral-item").evaluate_all("els => els.map(e => e.dataset.referralId)")]


@pytest.mark.usefixtures("more_than_a_page")
@pytest.mark.parametrize(("user", "desk"), [("konsulent", "/arbejdsliste"), ("kommune-0316", "/indbakke")])
async def test_a_desk_with_more_than_a_page_has_a_second_page(page: Page, login, portal_url: str, user: str,
                                                              desk: str) -> None:  # fmt: skip
    await login(page, user)
    await page.goto(f"{portal_url}{desk}?vis=alle")
    first = await _ids(page)
    assert len(first) == PAGE, f"the first page lists {len(first)} referrals, not a full page of {PAGE}"
    pager = page.get_by_role("navigation", name="Sider")
    await expect(pager.get_by_role("link", name="Forrige side")).to_have_count(0)
    await pager.get_by_role("link", name="Næste side").click()
    await expect(page).to_have_url(f"{portal_url}{desk}?vis=alle&side=2")
    await expect(pager).to_contain_text(re.compile(r"Side 2 af \d+"))
    second = await _ids(page)
    assert second and not set(second) & set(first), "the second page repeats the first's referrals"
    await pager.get_by_role("link", name="Forrige side").click()
    assert await _ids(page) == first, "back on the first page, the order changed"
