"""The rebuild's ProjectionWriter: the projections folded in memory, event by event, as the live SQL would.

The keyed tables (referrals, deliveries, suggestions) are folded by the merge rules of `upserts.py`, the very
rules the live statements are made from. The concern facts keep the first report of each concern (as live's
`DO NOTHING`); their rollups, and their pseudonyms and repeat flags by the erasure and repeat rules (the domain's
`settle`, which live applies to a tenancy's facts at each report or erasure), are made once, when the rows come
out to be copied in bulk. (Running a live repeat statement over every loaded fact instead took longer than the
whole replay.)
"""

from collections import Counter
from datetime import datetime
from typing import Any

from services.stats.adapters.upserts import TABLES, KeyedWrites, Rows, Upsert
from services.stats.domain.calendar import local_day
from services.stats.domain.facts import ConcernFact, settle

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
    **{table.name: table.columns for table in TABLES},
}
"""Each projection table's columns, in the order of the rows `ProjectionFold.rows` gives."""


class ProjectionFold(KeyedWrites):
    """Every projection row, in memory; feed it the handlers' calls in arrival order, then take `rows()`."""

    def __init__(self) -> None:
        self.facts: dict[str, ConcernFact] = {}
        self.erasures: dict[str, datetime] = {}
        self.referrals: Rows = {}
        self.deliveries: Rows = {}
        self.suggestions: Rows = {}
        self._keyed = {"referrals": self.referrals, "deliveries": self.deliveries, "suggestions": self.suggestions}

    async def record_concern(self, fact: ConcernFact) -> None:
        """The first report of a concern counts (another event id for the same concern does not)."""
        if fact.concern_id not in self.facts:
            self.facts[fact.concern_id] = fact

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: datetime) -> None:
        """The first erasure of a concern is kept; the fact loses its pseudonym when rows are made."""
        self.erasures.setdefault(concern_id, erased_at)

    async def apply(self, upsert: Upsert, values: tuple[Any, ...]) -> None:
        """A keyed table's write (`upserts.py`), folded into its rows by the same rules as live."""
        upsert.fold(self._keyed[upsert.table.name], values)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection table's rows (columns as in COLUMNS)."""
        facts, counts, categories = [], Counter(), Counter()
        settled = settle([(fact[0], fact[4], fact[7]) for fact in self.facts.values()], self.erasures)
        for (concern_id, organisation, department, municipality, _, severity, kinds, at), (
            key,
            erased,
            repeated,
        ) in zip(self.facts.values(), settled, strict=True):
            day = local_day(at)
            facts.append(
                (
                    concern_id,
                    organisation,
                    department,
                    municipality,
                    key,
                    severity,
                    list(kinds),
                    at,
                    day,
                    repeated,
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
