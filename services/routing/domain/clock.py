"""Clocks: acknowledgement due times in Danish working days, and a Clock port with a controllable fake."""

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from shared.contracts.vocabulary import Severity

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
ACUTE_DUE = timedelta(hours=1)
UNDERRETNING_ACUTE_DUE = timedelta(hours=24)
UNDERRETNING_DUE_WORKING_DAYS = 1
UNDERRETNING_RECEIPT_WORKING_DAYS = 6
WORKING_DAYS_DUE = {Severity.HIGH: 1, Severity.MEDIUM: 3, Severity.LOW: 6}


class Clock(Protocol):
    """Tells the time; the scheduler and the routing handlers never call datetime.now() themselves."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware."""
        return datetime.now(UTC)


@dataclass
class FakeClock:
    """A clock that stands still until a test moves it."""

    current: datetime = field(default_factory=lambda: datetime(2025, 3, 4, 8, 30, tzinfo=UTC))

    def now(self) -> datetime:
        """The time the test set."""
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward; returns the new time."""
        self.current += delta
        return self.current


@functools.lru_cache(maxsize=64)
def _danish_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DK", years=year))


def preload_holidays(year: int) -> None:
    """Build the holiday calendars of `year` and the next now (the first referrals would otherwise wait ~0.5 s)."""
    _danish_holidays(year)
    _danish_holidays(year + 1)


@functools.lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Danish public holiday (helligdag)."""
    return day.weekday() < 5 and day not in _danish_holidays(day.year)


@functools.lru_cache(maxsize=4096)
def nth_working_day(start: date, days: int) -> date:
    """The `days`-th working day after `start`."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return day


def add_working_days(start: datetime, days: int) -> datetime:
    """The same local time of day (Europe/Copenhagen) on the `days`-th working day after `start`'s date."""
    local = start.astimezone(COPENHAGEN)
    day = nth_working_day(local.date(), days)
    due = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=COPENHAGEN)
    return due.astimezone(UTC)


@functools.lru_cache(maxsize=512)  # referrals made together share their creation time: computed once per batch
def ack_due_at(
    created_at: datetime, severity: Severity, *, urgent: bool = False, underretning: bool = False
) -> datetime:
    """When the recipient must have acknowledged: acute or urgent 1 hour, else 1/3/6 working days; an underretning
    24 hours when acute or urgent, else 1 working day."""
    if underretning:
        if urgent or severity is Severity.ACUTE:
            return created_at + UNDERRETNING_ACUTE_DUE
        return add_working_days(created_at, UNDERRETNING_DUE_WORKING_DAYS)
    if urgent or severity is Severity.ACUTE:
        return created_at + ACUTE_DUE
    return add_working_days(created_at, WORKING_DAYS_DUE[severity])


@functools.lru_cache(maxsize=512)
def escalate_at(
    created_at: datetime, severity: Severity, *, urgent: bool = False, underretning: bool = False
) -> datetime:
    """Twice the due time: 2 hours for acute, else twice the working days (never counting weekends)."""
    if underretning:
        if urgent or severity is Severity.ACUTE:
            return created_at + 2 * UNDERRETNING_ACUTE_DUE
        return add_working_days(created_at, 2 * UNDERRETNING_DUE_WORKING_DAYS)
    if urgent or severity is Severity.ACUTE:
        return created_at + 2 * ACUTE_DUE
    return add_working_days(created_at, 2 * WORKING_DAYS_DUE[severity])


def receipt_due_at(created_at: datetime) -> datetime:
    """When the municipality must have confirmed receipt of an underretning: 6 working days (barnets lov)."""
    return add_working_days(created_at, UNDERRETNING_RECEIPT_WORKING_DAYS)


def working_days_span(start: datetime, days: int) -> timedelta:
    """How far the clock moves when `days` Danish working days pass from `start` (weekends and helligdage included).

    The demo clock (LOCAL_DEV) shifts the open referrals' stored times back by this span: for the clocks it is
    as if the wall clock had moved to the same local time of day `days` working days later.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    return add_working_days(start, days) - start
