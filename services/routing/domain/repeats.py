"""Repeats: three or more concerns about one tenancy within 90 days make a concern a repeat."""

from collections.abc import Iterable
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
