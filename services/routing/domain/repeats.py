"""Repeats: three or more concerns about one tenancy within 90 days make a concern a repeat."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

REPEAT_WINDOW = timedelta(days=90)
REPEAT_THRESHOLD = 3


def in_window(reported_at: datetime, timestamps: Iterable[datetime]) -> list[datetime]:
    """The timestamps within the 90 days up to and including `reported_at`, oldest first."""
    start = reported_at - REPEAT_WINDOW
    return sorted(t for t in timestamps if start < t <= reported_at)


def is_repeat(reported_at: datetime, timestamps: Iterable[datetime]) -> bool:
    """Whether the concern reported at `reported_at` (included in `timestamps`) is the third or later."""
    return len(in_window(reported_at, timestamps)) >= REPEAT_THRESHOLD


@dataclass
class Window:
    """One subject's concerns, keyed by concern id (a replayed concern is the same entry, never a second one).

    Complete for everything reported after `complete_after`: concerns at or before it may be missing.
    """

    complete_after: datetime
    concerns: dict[str, datetime] = field(default_factory=dict)

    def covers(self, reported_at: datetime) -> bool:
        """Whether the window holds every concern of the 90 days up to `reported_at`."""
        return self.complete_after <= reported_at - REPEAT_WINDOW

    def is_repeat(self, reported_at: datetime) -> bool:
        """The repeat rule for a concern of this subject reported at `reported_at` (already added)."""
        return is_repeat(reported_at, self.concerns.values())

    def pruned(self) -> "Window":
        """A copy without what no future concern (reported after the newest one) can count."""
        if not self.concerns:
            return Window(self.complete_after)
        cutoff = max(max(self.concerns.values()) - REPEAT_WINDOW, self.complete_after)
        return Window(cutoff, {c: t for c, t in self.concerns.items() if t > cutoff})
