"""The staff desks' paging: the sorted list cut into pages of 50, order kept, out-of-range pages clamped."""

import pytest

from services.portal.domain.paging import PAGE_SIZE, page_number, paginate

pytestmark = pytest.mark.unit


def test_pages_keep_the_order_and_cover_every_item_once() -> None:
    items = list(range(123))
    pages = [paginate(items, n) for n in (1, 2, 3)]
    assert [p.items for p in pages] == [items[0:50], items[50:100], items[100:123]]
    assert sum((p.items for p in pages), []) == items
    assert [p.pages for p in pages] == [3, 3, 3]
    assert (pages[0].has_previous, pages[0].has_next) == (False, True)
    assert (pages[1].has_previous, pages[1].has_next) == (True, True)
    assert (pages[2].has_previous, pages[2].has_next) == (True, False)
    assert (pages[1].first, pages[1].last, pages[2].first, pages[2].last) == (51, 100, 101, 123)


def test_a_page_beyond_the_last_is_the_last_and_an_empty_list_is_one_empty_page() -> None:
    assert paginate(list(range(60)), 99).number == 2
    assert paginate(list(range(60)), 0).number == 1
    empty = paginate([], 3)
    assert (empty.items, empty.number, empty.pages, empty.has_next, empty.first) == ([], 1, 1, False, 0)
    exact = paginate(list(range(PAGE_SIZE)), 1)
    assert (exact.pages, exact.has_next) == (1, False)


@pytest.mark.parametrize(("value", "number"), [(None, 1), ("", 1), ("2", 2), ("-1", 1), ("x", 1), ("0", 1),
                                               ("99999999", 10_000)])  # fmt: skip
def test_the_side_parameter_is_read_leniently(value: str | None, number: int) -> None:
    assert page_number(value) == number
