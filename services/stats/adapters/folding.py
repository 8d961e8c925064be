"""The rebuild's ProjectionWriter: the projections folded in memory, event by event, as the live SQL would.

Every rule here is the live one of `projections.py`, applied to Python values in arrival order: the first
creation of a row fixes its identity columns, states move to the latest change (the later arrival on a tie),
first answers and completions win, counters add up. The rows come out once, to be copied in bulk.
"""

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from services.stats.domain.calendar import local_day
from services.stats.domain.facts import REPEAT_THRESHOLD, REPEAT_WINDOW, ConcernFact, StatusChange

COLUMNS = {
    "concern_facts": (
        "concern_id",
        "organisation_id",
        "department_id",
        "municipality_code",
        "subject_key",
        "severity",
        "categories",
        "reported_at",
        "day",
        "repeated",
        "erased",
    ),
    "erasures": ("concern_id", "erased_at"),
    "concern_counts": ("day", "department_id", "municipality_code", "severity", "concerns"),
    "concern_category_counts": ("day", "department_id", "municipality_code", "category", "severity", "concerns"),
    "referrals": (
        "referral_id",
        "concern_id",
        "target",
        "recipient_id",
        "department_id",
        "municipality_code",
        "categories",
        "severity",
        "urgent",
        "created_at",
        "day",
        "status",
        "status_changed_at",
        "acknowledged_at",
        "completed_at",
        "outcome",
        "sla_breaches",
        "escalations",
    ),
    "suggestions": (
        "suggestion_id",
        "concern_id",
        "hint",
        "target",
        "department_id",
        "municipality_code",
        "day",
        "suggested_at",
        "decision",
        "decided_at",
    ),
    "deliveries": (
        "delivery_id",
        "channel",
        "municipality_code",
        "day",
        "delivered_at",
        "latency_ms",
        "failed_attempts",
        "final_failed",
    ),
}
"""Each projection table's columns, in the order of the rows `ProjectionFold.rows` gives."""

Fact = tuple[str, str, str, str, str, str, tuple[str, ...], datetime]
"""A reported concern: id, organisation, department, municipality, subject key, severity, categories, reported at."""

# Positions in a referral's row (a list, as it changes as events arrive).
_RECIPIENT, _CATEGORIES, _CREATED_AT, _DAY, _STATUS, _CHANGED_AT = 3, 6, 9, 10, 11, 12
_ACK_AT, _DONE_AT, _OUTCOME, _BREACHES = 13, 14, 15, 16
# Positions in a delivery's row.
_MUNICIPALITY, _DELIVERY_DAY, _DELIVERED_AT, _LATENCY, _FAILED, _FINAL = 2, 3, 4, 5, 6, 7


def _min(a: Any, b: Any) -> Any:
    """LEAST of SQL: the smaller, ignoring NULLs."""
    return b if a is None else a if b is None else min(a, b)


class ProjectionFold:
    """Every projection row, in memory; feed it the handlers' calls in arrival order, then take `rows()`."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.erasures: dict[str, datetime] = {}
        self.referrals: dict[str, list[Any]] = {}
        self.deliveries: dict[str, list[Any]] = {}
        self.suggestions: dict[str, list[Any]] = {}

    async def record_concern(self, fact: ConcernFact) -> None:
        """The first report of a concern counts (another event id for the same concern does not)."""
        if fact.concern_id not in self.facts:
            self.facts[fact.concern_id] = (
                fact.concern_id,
                fact.organisation_id,
                fact.department_id,
                fact.municipality_code,
                fact.subject_key,
                fact.severity,
                fact.categories,
                fact.reported_at,
            )

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: datetime) -> None:
        """The first erasure of a concern is kept; the fact loses its pseudonym when rows are made."""
        self.erasures.setdefault(concern_id, erased_at)

    def _referral(self, referral_id: str, concern_id: str, target: str, department_id: str, municipality: str) -> list:
        row = self.referrals.get(referral_id)
        if row is None:
            row = [referral_id, concern_id, target, None, department_id, municipality, None, None, None, None, None]
            row += ["requested", None, None, None, None, 0, 0]
            self.referrals[referral_id] = row
        return row

    async def record_referral(self, data: Any) -> None:
        """A referral's creation; the first one wins."""
        row = self._referral(
            data.referral_id, data.concern_id, str(data.target), data.department_id, data.municipality_code
        )
        if row[_CREATED_AT] is None:
            # As live: a row begun by a status or clock event keeps its identity columns; the rest is filled in.
            row[_RECIPIENT] = data.recipient_id
            row[_CATEGORIES : _DAY + 1] = [
                [str(c) for c in data.categories],
                str(data.severity),
                data.urgent,
                data.created_at,
                local_day(data.created_at),
            ]

    async def record_status_change(self, change: StatusChange) -> None:
        """Latest state (later arrival on a tie), first answer, first completion and its outcome."""
        row = self._referral(
            change.referral_id, change.concern_id, change.target, change.department_id, change.municipality_code
        )
        at = change.changed_at
        if row[_CHANGED_AT] is None or at >= row[_CHANGED_AT]:
            row[_STATUS], row[_CHANGED_AT] = change.to_status, at
        if change.acknowledges:
            row[_ACK_AT] = _min(row[_ACK_AT], at)
        if change.completes and (row[_DONE_AT] is None or at < row[_DONE_AT]):
            row[_DONE_AT], row[_OUTCOME] = at, change.outcome

    async def count_clock_event(self, data: Any, column: str) -> None:
        """One more SLA breach or escalation."""
        row = self._referral(
            data.referral_id, data.concern_id, str(data.target), data.department_id, data.municipality_code
        )
        row[_BREACHES if column == "sla_breaches" else _BREACHES + 1] += 1

    def _suggestion(self, data: Any, at: datetime) -> list:
        row = self.suggestions.get(data.suggestion_id)
        if row is None:
            row = [data.suggestion_id, data.concern_id, str(data.hint), str(data.target), data.department_id]
            row += [data.municipality_code, local_day(at), None, None, None]
            self.suggestions[data.suggestion_id] = row
        return row

    async def record_suggestion(self, data: Any) -> None:
        """A suggestion: its day is the suggestion's (a decision read first kept its own until then)."""
        row = self._suggestion(data, data.suggested_at)
        if row[7] is None:
            row[6], row[7] = local_day(data.suggested_at), data.suggested_at

    async def record_suggestion_decision(self, data: Any) -> None:
        """The first decision on a suggestion counts."""
        row = self._suggestion(data, data.decided_at)
        if row[8] is None:
            row[8], row[9] = str(data.decision), data.decided_at

    async def record_delivery(self, data: Any, *, delivered: bool) -> None:
        """A delivery or a failed attempt: first place, earliest day and success, attempts added up."""
        at = data.delivered_at if delivered else data.failed_at
        row = self.deliveries.get(data.delivery_id)
        if row is None:
            self.deliveries[data.delivery_id] = [
                data.delivery_id,
                str(data.channel),
                data.municipality_code,
                local_day(at),
                at if delivered else None,
                data.latency_ms if delivered else None,
                0 if delivered else 1,
                (not delivered) and data.final,
            ]
            return
        if row[_MUNICIPALITY] is None:
            row[_MUNICIPALITY] = data.municipality_code
        row[_DELIVERY_DAY] = min(row[_DELIVERY_DAY], local_day(at))
        if delivered and (row[_DELIVERED_AT] is None or at < row[_DELIVERED_AT]):
            row[_DELIVERED_AT], row[_LATENCY] = at, data.latency_ms
        if not delivered:
            row[_FAILED] += 1
            row[_FINAL] = row[_FINAL] or data.final

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection table's rows (columns as in COLUMNS)."""
        facts, counts, categories = [], Counter(), Counter()
        erasures = self.erasures
        repeated = _repeated([fact for fact in self.facts.values() if fact[0] not in erasures])
        for concern_id, organisation, department, municipality, key, severity, kinds, at in self.facts.values():
            erased = concern_id in erasures
            day = local_day(at)
            facts.append(
                (
                    concern_id,
                    organisation,
                    department,
                    municipality,
                    None if erased else key,
                    severity,
                    list(kinds),
                    at,
                    day,
                    concern_id in repeated,
                    erased,
                )
            )
            counts[(day, department, municipality, severity)] += 1
            for category in kinds:
                categories[(day, department, municipality, category, severity)] += 1
        return {
            "concern_facts": facts,
            "erasures": list(self.erasures.items()),
            "concern_counts": [(*key, n) for key, n in counts.items()],
            "concern_category_counts": [(*key, n) for key, n in categories.items()],
            "referrals": [tuple(row) for row in self.referrals.values()],
            "deliveries": [tuple(row) for row in self.deliveries.values()],
            "suggestions": [tuple(row) for row in self.suggestions.values()],
        }


def _repeated(facts: list[Fact]) -> set[str]:
    """Concerns with REPEAT_THRESHOLD or more of their tenancy's concerns in the window up to them (inclusive)."""
    by_tenancy: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for fact in facts:
        if fact[4] is not None:  # no tenancy named: not a repeat of anything
            by_tenancy[fact[4]].append((fact[7], fact[0]))
    repeated = set()
    for concerns in by_tenancy.values():
        if len(concerns) < REPEAT_THRESHOLD:
            continue
        times = sorted(at for at, _ in concerns)
        for at, concern_id in concerns:
            if bisect_right(times, at) - bisect_left(times, at - REPEAT_WINDOW) >= REPEAT_THRESHOLD:
                repeated.add(concern_id)
    return repeated
