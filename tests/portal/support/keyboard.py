"""Walking a page with the keyboard alone: what has focus, whether its focus is visible, and in what order."""

from dataclasses import dataclass

_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  const label = (e.labels && e.labels.length) ? e.labels[0].innerText : (e.getAttribute('aria-label') || '');
  return {
    tag: e.tagName.toLowerCase(), type: e.getAttribute('type') || '', id: e.id || '',
    name: e.getAttribute('name') || '',
    value: e.value === undefined ? '' : String(e.value), checked: !!e.checked,
    text: (e.innerText || '').trim().slice(0, 80), label: label.trim().slice(0, 80),
    outline_style: s.outlineStyle, outline_width: parseFloat(s.outlineWidth) || 0, box_shadow: s.boxShadow,
    focus_visible: e.matches(':focus-visible'),
    x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
    in_view: r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth,
  };
}"""


@dataclass(frozen=True)
class Focus:
    """The focused element as the keyboard user meets it."""

    tag: str
    type: str
    id: str
    name: str
    value: str
    checked: bool
    text: str
    label: str
    outline_style: str
    outline_width: float
    box_shadow: str
    focus_visible: bool
    x: float
    y: float
    w: float
    h: float
    in_view: bool

    @property
    def key(self) -> str:
        """One control's identity in the walk: a radio group is one stop, its buttons are its values."""
        if self.type == "radio":
            return f"radio:{self.name}"
        return f"{self.tag}#{self.id}" if self.id else f"{self.tag}[name={self.name}]:{self.text[:30]}"

    def describe(self) -> str:
        what = self.label or self.text or self.name or self.id
        return f"<{self.tag}{' type=' + self.type if self.type else ''}> {what!r}"

    @property
    def indicator_visible(self) -> bool:
        """A focus indicator is drawn: an outline of at least 1px, or a box-shadow ring."""
        outline = self.outline_style not in ("none", "") and self.outline_width >= 1
        ring = self.box_shadow not in ("none", "")
        return outline or ring


async def focused(page) -> Focus | None:  # noqa: ANN001 - a Playwright Page
    """The element that has focus now (None on the body)."""
    info = await page.evaluate(_FOCUSED)
    return Focus(**info) if info else None


def follows_visually(before: Focus, after: Focus, slack: float = 4.0) -> bool:
    """`after` comes after `before` in reading order: below it, or on the same row and to its right.

    Two controls share a row when their boxes overlap vertically; then the one further right comes later (the
    pages are left-to-right Danish). Otherwise the later one must not start above the earlier one.
    """
    same_row = after.y < before.y + before.h - slack and before.y < after.y + after.h - slack
    if same_row:
        return after.x >= before.x - slack
    return after.y >= before.y - slack
