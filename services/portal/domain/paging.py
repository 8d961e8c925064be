"""One page of a staff desk's list: the list is sorted whole (worklist order), then cut into pages of `PAGE_SIZE`.

Routing pages by offset in its own order (newest first); the desks' order (overdue first, then by due time) is
the portal's, so the portal sorts what routing lets the person see and shows one page of it at a time.
"""

from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """Page `number` (from 1) of `total` items, `size` a page."""

    items: list[Any]
    number: int
    pages: int
    total: int
    size: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first item; 0 on an empty list."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def page_number(value: str | None) -> int:
    """The `side` query parameter as a page number: anything that is not a positive whole number is page 1."""
    if value is None or not value.isdigit():
        return 1
    return max(1, min(int(value), 10_000))


def paginate(items: list[Any], number: int, size: int = PAGE_SIZE) -> Page:
    """Page `number` of the already-sorted `items`; a number beyond the last page is the last page."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return Page(items=items[start : start + size], number=number, pages=pages, total=len(items), size=size)
