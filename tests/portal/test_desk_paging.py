"""The staff desks page their lists: 50 referrals a page in worklist order, "Næste side"/"Forrige side" between
them, the open/all choice kept across pages."""

import re

import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.portal


async def _ids(page: Page) -> list[str]:
    return [i for i in await page.locator("li.referral-item").evaluate_all("els => els.map(e => e.dataset.referralId)")]


@pytest.mark.parametrize(("user", "desk"), [("konsulent", "/arbejdsliste"), ("kommune-0316", "/indbakke")])
async def test_a_desk_with_more_than_a_page_has_a_second_page(page: Page, login, portal_url: str, user: str,
                                                              desk: str) -> None:  # fmt: skip
    await login(page, user)
    await page.goto(f"{portal_url}{desk}?vis=alle")
    first = await _ids(page)
    assert 0 < len(first) <= 50, f"the first page lists {len(first)} referrals"
    if len(first) < 50:
        pytest.fail(f"{desk} of {user} has only {len(first)} referrals on the stack: not enough to page")
    pager = page.get_by_role("navigation", name="Sider")
    await expect(pager.get_by_role("link", name="Forrige side")).to_have_count(0)
    await pager.get_by_role("link", name="Næste side").click()
    await expect(page).to_have_url(f"{portal_url}{desk}?vis=alle&side=2")
    await expect(pager).to_contain_text(re.compile(r"Side 2 af \d+"))
    second = await _ids(page)
    assert second and not set(second) & set(first), "the second page repeats the first's referrals"
    await pager.get_by_role("link", name="Forrige side").click()
    assert await _ids(page) == first, "back on the first page, the order changed"
