"""Statistical disclosure control: no figure of the stats API lets a reader work out a small count.

The rule (README, "Small counts"), for every role:

1. **Primary.** A count of 1 to `min_count - 1` (default 4) is withheld: `null` in the API, "< 5" on the dashboard.
   Zero is shown (it tells nothing about a concern).
2. **Complementary.** Counts that add up to a figure that is shown somewhere (a total, a municipality's count)
   form a breakdown. Were a breakdown to withhold exactly one count, or only counts of 1, the figure minus the
   shown counts would give them back; so the next smallest shown counts of that breakdown (non-zero ones first,
   then zeros) are withheld too, until neither holds.
3. **Unprotectable.** Should a breakdown have nothing left to withhold (every count in it 1), the figure it adds up
   to is withheld as well, with everything that would give it back (`Unprotectable`).

An organisation's baseline (hotspots) overlaps those breakdowns: it is shown only when none of its departments
is withheld or small (`Disclosure.departments`). A figure derived from a withheld count (a rate per 100
tenancies, a rate ratio, an amount in DKK) is withheld with it. What this does not defend against: differences
between two answers for overlapping periods or filters (a reader who asks for each day alone); answers are
aggregates for planning, not an anonymisation of the events.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_MIN_COUNT = 5


class Unprotectable(Exception):
    """A breakdown whose withheld counts would be given back by its figure whatever else is withheld."""


def withheld(
    cells: Mapping[K, int],
    min_count: int,
    *,
    figure_shown: bool = True,
    unseen: Iterable[K] = (),
    figure_derived: bool = False,
) -> set[K]:
    """The keys of one breakdown to withhold: primary (small) counts and their complements.

    `figure_shown` says whether what the cells add up to is shown (or can be worked out) somewhere; when it is
    not, withholding the small counts is enough. `unseen` are cells of the breakdown the reader never sees
    (outside its scope): they are unknowns like the withheld ones, and the figure minus the shown cells must not
    give a small one back either. `figure_derived`: the figure is not shown as such but follows from shown ones
    (so it is known even when small). Ties between equal counts go to the earlier key.
    """
    unseen = set(unseen)
    small = {key for key, value in cells.items() if 0 < value < min_count}
    hidden = small | unseen
    small_figure = sum(cells.values()) < min_count and not figure_derived
    if not figure_shown or small_figure or not _recoverable(hidden, cells, min_count):
        # A figure below min_count is itself withheld, and then every non-zero cell of it is small: no equation.
        return small - unseen
    order = {key: i for i, key in enumerate(cells)}
    candidates = sorted((k for k in cells if k not in hidden), key=lambda k: (cells[k] == 0, cells[k], order[k]))
    for key in candidates:
        hidden.add(key)
        if not _recoverable(hidden, cells, min_count):
            return hidden - unseen
    raise Unprotectable("every count of the breakdown is withheld and each is 1")


def _recoverable(hidden: set, cells: Mapping, min_count: int) -> bool:
    """Whether the figure minus the shown counts gives a small one back: it is the only unknown, or all are 1."""
    if not hidden:
        return False
    if len(hidden) == 1:
        return 0 < cells[next(iter(hidden))] < min_count
    return all(cells[k] == 1 for k in hidden)


@dataclass(frozen=True)
class Disclosure:
    """The rule with its minimum count (setting `MIN_CELL_COUNT`, default 5)."""

    min_count: int = DEFAULT_MIN_COUNT

    @property
    def shown_as(self) -> str:
        """How the dashboard and exports show a withheld count."""
        return f"< {self.min_count}"

    def describe(self) -> dict:
        """The rule as every answer states it."""
        return {
            "min_count": self.min_count,
            "shown_as": self.shown_as,
            "rule": f"counts from 1 to {self.min_count - 1} are withheld (null), and so are the next smallest "
            "counts of a breakdown whose shown total would otherwise give a withheld count back; figures derived "
            "from a withheld count (rates, ratios, amounts) are withheld with it",
        }

    def small(self, value: int | None) -> bool:
        """Whether a count is withheld on its own (primary)."""
        return value is not None and 0 < value < self.min_count

    def count(self, value: int | None) -> int | None:
        """A count that is no breakdown of a shown figure: itself, or None when small."""
        return None if self.small(value) else value

    def withheld(self, cells: Mapping[K, int], *, figure_shown: bool = True, unseen: Iterable[K] = ()) -> set[K]:
        """See the module function."""
        return withheld(cells, self.min_count, figure_shown=figure_shown, unseen=unseen)

    def rows(
        self,
        rows: list[dict],
        field: str,
        *,
        key: str | Iterable[str] | None = None,
        derived: Iterable[str] = (),
        figure_shown: bool = True,
    ) -> set:
        """Withhold `field` (and the `derived` fields) in the rows of one breakdown, in place; the withheld keys."""
        names = (key,) if isinstance(key, str) else tuple(key) if key is not None else None
        keys = [tuple(row[n] for n in names) if names else i for i, row in enumerate(rows)]
        cells = {k: row[field] or 0 for k, row in zip(keys, rows, strict=True)}
        hidden = self.withheld(cells, figure_shown=figure_shown)
        derived = tuple(derived)
        for k, row in zip(keys, rows, strict=True):
            if k in hidden:
                row[field] = None
                for name in derived:
                    row[name] = None
        return hidden

    def protect(self, rows: list[dict], field: str, *, key: str | Iterable[str] | None = None, **kw) -> set:
        """`rows`, but an unprotectable breakdown withholds all its non-zero counts (no figure of its own)."""
        try:
            return self.rows(rows, field, key=key, **kw)
        except Unprotectable:
            for row in rows:
                if row[field]:
                    row[field] = None
                    for name in kw.get("derived", ()):
                        row[name] = None
            return {"*"}

    def overview(
        self,
        body: dict,
        organisations: Mapping[str, Mapping[str, int]] | None = None,
        in_scope: Mapping[str, str] | None = None,
    ) -> dict:
        """The overview's figures with small counts withheld (in place; the body returned)."""
        self._concerns(body["concerns"], organisations, in_scope)
        self.protect(body["categories"], "concerns", key="category")
        repeat = body["repeat_tenancies"]
        repeat["tenancies"], repeat["concerns"] = self.count(repeat["tenancies"]), self.count(repeat["concerns"])
        referrals = body["referrals"]
        # Targets' totals are shown too (response times by target): states within targets within the total,
        # the same hierarchy as departments within municipalities.
        rows = referrals["by_target_and_status"]
        try:
            cells = {(r["target"], r["status"]): (r["target"], r["referrals"]) for r in rows}
            _, hidden, _ = self.departments(cells, {})
        except Unprotectable:
            hidden = set(cells)
            referrals["total"] = None
        for row in rows:
            if (row["target"], row["status"]) in hidden:
                row["referrals"] = None
        referrals["total"] = self.count(referrals["total"])
        referrals["sla"] = {name: self.count(value) for name, value in referrals["sla"].items()}
        self.protect(body["outcomes"], "referrals", key="outcome")
        self.protect(body["outcomes"], "concerns", key="outcome")
        costs = body["costs_avoided"]
        for item in costs["items"]:
            if self.small(item["concerns"]):
                item["concerns"] = item["amount_dkk"] = None
        outcome_concerns = {row["outcome"]: row["concerns"] for row in body["outcomes"]}
        for item in costs["items"]:
            if item["outcome"] in outcome_concerns and outcome_concerns[item["outcome"]] is None:
                item["concerns"] = item["amount_dkk"] = None
        if any(item["concerns"] is None for item in costs["items"]):
            costs["total_dkk"] = None  # the sum would give the withheld amount back
        for channel in body.get("notifications") or ():
            for name in ("delivered", "failed", "retrying", "failed_attempts"):
                channel[name] = self.count(channel[name])
            if channel["delivered"] is None:
                channel["median_latency_ms"] = None
        body["suppression"] = self.describe()
        return body

    def _concerns(
        self,
        section: dict,
        organisations: Mapping[str, Mapping[str, int]] | None = None,
        in_scope: Mapping[str, str] | None = None,
    ) -> None:
        """Total, by day, municipality, department and severity: one total, four ways.

        `organisations`: every department's count by organisation (the hotspots' baselines), so that a
        department withheld here is withheld there too and neither answer gives it back; `in_scope`: the
        caller's departments (id to municipality), which the hotspots show even without concerns.
        """
        breakdowns = ((section["by_day"], "day"), (section["by_severity"], "severity"))
        try:
            for rows, key in breakdowns:
                self.rows(rows, "concerns", key=key)
            scoped = {d: (code, 0) for d, code in (in_scope or {}).items()}
            for row in section["by_department"]:
                scoped[row["department_id"]] = (row["municipality_code"], row["concerns"])
            hidden_municipalities, hidden, _ = self.departments(scoped, organisations or {})
            for row in section["by_municipality"]:
                if row["municipality_code"] in hidden_municipalities:
                    row["concerns"] = None
            for row in section["by_department"]:
                if row["department_id"] in hidden:
                    row["concerns"] = row["rate_per_100_tenancies"] = None
            section["total"] = self.count(section["total"])
        except Unprotectable:
            # Nothing left to withhold in one breakdown: the total goes, and every count that would give it back.
            section["total"] = None
            names = ("by_day", "by_severity", "by_municipality", "by_department")
            for rows in (section[name] for name in names):
                for row in rows:
                    if row["concerns"]:
                        row["concerns"] = None
                        if "rate_per_100_tenancies" in row:
                            row["rate_per_100_tenancies"] = None

    def departments(
        self, scoped: Mapping[str, tuple[str, int]], organisations: Mapping[str, Mapping[str, int]]
    ) -> tuple[set[str], set[str], set[str]]:
        """Withheld municipalities, departments and organisation baselines, one rule for every answer.

        `scoped`: the caller's departments with their municipality and count; `organisations`: every
        department's count by organisation (out-of-scope ones are unknowns to the reader). The breakdowns of
        the departments: the caller's total, each shown municipality's count, the withheld municipalities
        together (the total minus the shown ones) and each withheld municipality (which its departments must not
        give back). Withheld counts grow until no breakdown has a single unknown or only 1s (raises Unprotectable
        when nothing is left to withhold). Baselines: see the end.
        """
        m = self.min_count
        counts = {d: n for d, (_, n) in scoped.items()}
        for members in organisations.values():
            for d, n in members.items():
                counts.setdefault(d, n)
        unseen = set(counts) - set(scoped)
        total = sum(counts[d] for d in scoped)
        by_municipality: dict[str, set[str]] = {}
        for d, (code, _) in scoped.items():
            by_municipality.setdefault(code, set()).add(d)
        figures = {code: sum(counts[d] for d in members) for code, members in by_municipality.items()}
        hidden_municipalities = withheld(figures, m) if total >= m else {c for c, n in figures.items() if 0 < n < m}
        groups: list[set[str]] = []  # innermost first, so that a complement stays within its municipality
        if total >= m:
            groups += [by_municipality[c] for c in figures if c not in hidden_municipalities]
            rest = {d for code in hidden_municipalities for d in by_municipality[code]}
            if rest:
                groups.append(rest)
            groups.append(set(scoped))
        hidden = {d for d in scoped if 0 < counts[d] < m}
        order = {d: i for i, d in enumerate(sorted(counts))}

        def recoverable(members: set[str]) -> bool:
            unknown = (hidden | unseen) & members
            if len(unknown) == 1:
                (only,) = unknown
                return only in hidden or 0 < counts[only] < m
            return bool(unknown) and all(counts[d] == 1 for d in unknown)

        changed = True
        while changed:
            changed = False
            for code in hidden_municipalities:
                # A withheld municipality: its departments must not add up to it in the open.
                members = by_municipality[code]
                if figures[code] and not hidden & members:
                    hidden.add(min((d for d in members if counts[d]), key=lambda d: (counts[d], order[d])))
                    changed = True
            for members in groups:
                if not recoverable(members):
                    continue
                # Not zeros: the overview lists only departments with concerns, so a missing one reads as 0.
                candidates = sorted(
                    (d for d in members - hidden - unseen if counts[d]), key=lambda d: (counts[d], order[d])
                )
                for d in candidates:
                    hidden.add(d)
                    changed = True
                    if not recoverable(members):
                        break
                else:
                    raise Unprotectable("every count of the caller's departments is withheld and each is 1")
        # An organisation's baseline overlaps the caller's breakdowns (it minus the caller's total, or a
        # municipality's, would isolate withheld departments): it is shown only when none of its departments is
        # withheld or small, and then it tells nothing about a withheld count.
        hidden_baselines = {
            org
            for org, members in organisations.items()
            if 0 < sum(members.values()) < m or any(d in hidden or 0 < counts[d] < m for d in members)
        }
        return hidden_municipalities, hidden, hidden_baselines

    def response_times(self, body: dict) -> dict:
        """Response times with small counts withheld, and the hours of fewer than `min_count` referrals."""
        groups = body["groups"]
        key = body["group_by"]
        # The groups add up to the overview's totals (referrals, breached): breakdowns of shown figures.
        counts = {name: {row[key]: row[name] for row in groups} for name in ("acknowledged", "completed")}
        for name in ("referrals", "acknowledged", "completed", "breached"):
            self.protect(groups, name, key=key)
        for row in groups:
            # Hours of fewer than min_count referrals would be those referrals' own times (a complement's stay).
            if self.small(counts["acknowledged"][row[key]]):
                row["hours_to_acknowledgement"] = {"median": None, "p90": None}
            if self.small(counts["completed"][row[key]]):
                row["hours_to_completion"] = {"median": None, "p90": None}
        body["suppression"] = self.describe()
        return body
