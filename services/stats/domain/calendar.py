"""Days and periods as people in Denmark read them: a day is a Europe/Copenhagen calendar day."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Copenhagen")
DEFAULT_DAYS = 90
"""A period without `from` covers the 90 days up to and including `to`."""
MAX_DAYS = 3 * 366
"""Longest period one request may ask for."""
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
"""The days a period may name: around them, its defaults, its previous period and the day after it stay dates
(`to=0001-01-01` was a 500: 90 days before it is not a date)."""


def local_day(moment: datetime) -> date:
    """The Danish calendar day of a UTC moment."""
    return moment.astimezone(LOCAL_TZ).date()


def today() -> date:
    """Today in Denmark."""
    return datetime.now(LOCAL_TZ).date()


class PeriodError(ValueError):
    """A period that cannot be used; `field` names the query parameter at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Period:
    """Calendar days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days covered."""
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one (for trends)."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @classmethod
    def of(cls, start: date | None, end: date | None, *, now: date | None = None) -> "Period":
        """The period a request asks for, with defaults; raises PeriodError naming the field."""
        for field, day in (("from", start), ("to", end)):
            if day is not None and not EARLIEST <= day <= LATEST:
                raise PeriodError(field, f"must lie between {EARLIEST} and {LATEST}")
        end = end or now or today()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise PeriodError("from", "must not be after `to`")
        if (end - start).days + 1 > MAX_DAYS:
            raise PeriodError("from", f"the period may cover at most {MAX_DAYS} days")
        return cls(start, end)
