"""The small-count rule of the stats answers: primary and complementary withholding, health categories.

The property tests play the reader who subtracts: from the shown counts and the totals they add up to, every
withheld count must still have more than one possible value. The reader knows that zeros are shown, so it takes
every withheld count to be at least 1 (and at least 0 only when the answer could not be otherwise).
"""

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from services.stats.adapters import queries
from services.stats.domain.calendar import Period
from services.stats.domain.costs import UnitCosts, estimate
from services.stats.domain.disclosure import Disclosure, Unprotectable, withheld
from services.stats.domain.reference import Department, ReferenceData
from services.stats.domain.reports import concern_section
from services.stats.domain.scope import OutOfScope, select
from services.stats.entrypoints.api import stats
from services.stats.entrypoints.api.stats import _withheld_departments
from services.stats.entrypoints.deps import StatsContext
from shared.auth.principal import Principal, Role
from shared.contracts.health import HEALTH_CATEGORIES

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def possible(hidden_values: list[int], remainder: int) -> list[set[int]]:
    """Each withheld count's possible values, knowing only that they add up to `remainder` (one equation)."""
    n = len(hidden_values)
    lo = 0 if 0 in hidden_values else 1
    return [set(range(lo, remainder - (n - 1) * lo + 1)) for _ in hidden_values]


def test_a_single_small_count_takes_the_next_smallest_with_it() -> None:
    assert withheld({"a": 1, "b": 5, "c": 20}, 5) == {"a", "b"}
    assert withheld({"a": 3, "b": 4, "c": 20}, 5) == {"a", "b"}  # two unknowns already
    assert withheld({"a": 1, "b": 1, "c": 20}, 5) == {"a", "b", "c"}  # 1 + 1 = 2 would give both back
    assert withheld({"a": 0, "b": 7, "c": 20}, 5) == set()
    assert withheld({"a": 2, "b": 0, "c": 0}, 5) == {"a"}  # the total (2) is withheld itself: no equation
    assert withheld({"a": 1, "b": 9}, 5, figure_shown=False) == {"a"}
    assert withheld({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 0}, 5) == {"a", "b", "c", "d", "e", "f"}
    with pytest.raises(Unprotectable):
        withheld({d: 1 for d in "abcde"}, 5)


def test_cells_outside_the_scope_are_protected_too() -> None:
    # The baseline (13) minus the one shown department (10) would give the unseen department's 3 back.
    assert withheld({"mine": 10, "theirs": 3}, 5, unseen={"theirs"}) == {"mine"}
    assert withheld({"mine": 10, "theirs": 7}, 5, unseen={"theirs"}) == set()  # 7 is no small count


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=7), st.integers(2, 6))
def test_no_withheld_count_comes_back_by_subtraction(cells: list[int], min_count: int) -> None:
    table = dict(enumerate(cells))
    try:
        hidden = withheld(table, min_count)
    except Unprotectable:
        assert all(v == 1 for v in cells) and len(cells) >= min_count
        return
    assert {k for k, v in table.items() if 0 < v < min_count} <= hidden
    if not hidden or sum(cells) < min_count:
        return  # nothing withheld, or the total is withheld itself (and then every count in it)
    values = [table[k] for k in sorted(hidden)]
    remainder = sum(cells) - sum(v for k, v in table.items() if k not in hidden)
    for value, options in zip(values, possible(values, remainder), strict=True):
        assert value in options and len(options) > 1, (cells, hidden)


DEPARTMENTS = {"d1": "0316", "d2": "0316", "d3": "0326", "d4": "0326", "d5": "0330"}
DAYS = 3
ORGANISATIONS = {"org-a": ("d1", "d3"), "org-b": ("d2", "d4", "d5")}
"""Two organisations across the municipalities: their baselines (hotspots) are breakdowns of the departments too."""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(DEPARTMENTS)), st.integers(0, DAYS - 1)), max_size=24))
def test_departments_within_municipalities_give_nothing_back(concerns: list[tuple[str, int]]) -> None:
    start = date(2026, 3, 2)
    rows: dict[tuple, int] = defaultdict(int)
    for department, day in concerns:
        rows[(start + timedelta(days=day), department)] += 1
    section = concern_section(
        [
            {"day": day, "department_id": d, "municipality_code": DEPARTMENTS[d], "severity": "medium", "concerns": n}
            for (day, d), n in rows.items()
        ],
        Period(start, start + timedelta(days=DAYS - 1)),
        ReferenceData(),
    )
    truth = {row["department_id"]: row["concerns"] for row in section["by_department"]}
    municipalities = {row["municipality_code"]: row["concerns"] for row in section["by_municipality"]}
    days = {row["day"]: row["concerns"] for row in section["by_day"]}
    organisations = {org: {d: truth.get(d, 0) for d in members} for org, members in ORGANISATIONS.items()}
    scoped = {d: (code, truth.get(d, 0)) for d, code in DEPARTMENTS.items()}
    try:
        baselines_withheld = Disclosure(5).departments(scoped, organisations)[2]
    except Unprotectable:
        baselines_withheld = set()
    Disclosure(5)._concerns(section, organisations, DEPARTMENTS)
    total = section["total"]
    assert total == (None if 0 < len(concerns) < 5 else len(concerns)) or total is None
    shown = {row["department_id"]: row["concerns"] for row in section["by_department"]}
    shown_municipalities = {row["municipality_code"]: row["concerns"] for row in section["by_municipality"]}
    for key, value in [*shown.items(), *shown_municipalities.items()]:
        assert value is None or value == {**truth, **municipalities}[key]
        assert value is None or not 0 < value < 5
    if total is None:
        return  # no figure to subtract from: every non-zero count is withheld (or below 5)
    by_day = {row["day"]: row["concerns"] for row in section["by_day"]}
    hidden_days = [days[d] for d, v in by_day.items() if v is None]
    if hidden_days:
        remainder = total - sum(v for v in by_day.values() if v is not None)
        assert all(len(o) > 1 for o in possible(hidden_days, remainder))
    # Every assignment of the withheld departments that the shown figures allow, by brute force.
    hidden = sorted(d for d, v in shown.items() if v is None)
    if not hidden:
        return
    lo = 0 if any(truth[d] == 0 for d in hidden) else 1
    options: dict[str, set[int]] = defaultdict(set)
    municipality_options: dict[str, set[int]] = defaultdict(set)

    def search(i: int, values: dict[str, int]) -> None:
        used = sum(values.values())
        if i == len(hidden):
            full = {**{d: v for d, v in shown.items() if v is not None}, **values}
            if sum(full.values()) != total:
                return
            sums: dict[str, int] = defaultdict(int)
            for d, v in full.items():
                sums[DEPARTMENTS[d]] += v
            if any(v is not None and sums[m] != v for m, v in shown_municipalities.items()):
                return
            for org, members in organisations.items():
                baseline = sum(members.values())
                if org not in baselines_withheld and baseline >= 5 and sum(full.get(d, 0) for d in members) != baseline:
                    return
            for d, v in values.items():
                options[d].add(v)
            for m, v in sums.items():
                municipality_options[m].add(v)
            return
        for v in range(lo, total - used + 1):
            search(i + 1, {**values, hidden[i]: v})

    search(0, {})
    for d in hidden:
        assert truth[d] in options[d] and len(options[d]) > 1, f"{concerns} {d} {options[d]} {shown}"
    for m, v in shown_municipalities.items():
        if v is None and 0 < municipalities[m] < 5:
            assert len(municipality_options[m]) > 1, (concerns, m)


def test_health_categories_are_one_list_which_routing_keeps_to() -> None:
    rules = yaml.safe_load((ROOT / "services" / "routing" / "rules" / "default.yaml").read_text())
    assert set(rules["health_categories"]) == {c.value for c in HEALTH_CATEGORIES}


def test_an_association_cannot_ask_for_a_health_category() -> None:
    association = Principal(client_id="a", role=Role.ASSOCIATION, department_ids=("hoeng-1",))
    with pytest.raises(OutOfScope) as refused:
        select(association, municipality=None, department=None, category="mental_health")
    assert refused.value.field == "category"
    assert select(association, municipality=None, department=None, category=None).hidden_categories == {
        c.value for c in HEALTH_CATEGORIES
    }
    ops = Principal(client_id="o", role=Role.OPS)
    assert select(ops, municipality=None, department=None, category="mental_health").hidden_categories == set()


def _overview(outcomes: dict[str, int], referrals: dict[tuple[str, str], int]) -> dict:
    start = date(2026, 3, 2)
    rows = [{"day": start, "department_id": "d1", "municipality_code": "0316", "severity": "high", "concerns": 30}]
    return {
        "concerns": concern_section(rows, Period(start, start), ReferenceData()),
        "categories": [{"category": "noise", "concerns": 28}, {"category": "loneliness", "concerns": 2}],
        "repeat_tenancies": {"tenancies": 1, "concerns": 3, "definition": "..."},
        "referrals": {
            "total": sum(referrals.values()),
            "by_target_and_status": [{"target": t, "status": s, "referrals": n} for (t, s), n in referrals.items()],
            "sla": {"breached_referrals": 6, "breaches": 2, "escalations": 0},
        },
        "outcomes": [{"outcome": o, "referrals": n, "concerns": n} for o, n in outcomes.items()],
        "costs_avoided": estimate(outcomes, UnitCosts()),
        "notifications": [
            {
                "channel": "email",
                "delivered": 3,
                "failed": 0,
                "retrying": 0,
                "failed_attempts": 0,
                "median_latency_ms": 9,
            }
        ],
    }


def test_the_overview_withholds_every_small_count_and_what_would_give_it_back() -> None:
    body = Disclosure(5).overview(
        _overview(
            {"eviction_avoided": 2, "dwelling_restored": 9, "support_established": 12},
            {("municipality", "requested"): 20, ("consultant", "accepted"): 7, ("association", "requested"): 1},
        )
    )
    assert body["suppression"] == Disclosure(5).describe() and body["suppression"]["shown_as"] == "< 5"
    assert body["concerns"]["total"] == 30 and body["concerns"]["by_severity"][2]["concerns"] == 30
    assert [c["concerns"] for c in body["categories"]] == [None, None]  # 28 + 2 >= 30 would give the 2 back
    assert body["repeat_tenancies"]["tenancies"] is None and body["repeat_tenancies"]["concerns"] is None
    assert body["referrals"]["total"] == 28
    assert [r["referrals"] for r in body["referrals"]["by_target_and_status"]] == [20, None, None]
    assert body["referrals"]["sla"] == {"breached_referrals": 6, "breaches": None, "escalations": 0}
    assert [o["concerns"] for o in body["outcomes"]] == [None, None, 12]
    costs = body["costs_avoided"]
    assert [i["amount_dkk"] for i in costs["items"]] == [None, None] and costs["total_dkk"] is None
    channel = body["notifications"][0]
    assert channel["delivered"] is None and channel["median_latency_ms"] is None and channel["failed"] == 0


def test_costs_stay_when_no_outcome_behind_them_is_small() -> None:
    body = Disclosure(5).overview(_overview({"eviction_avoided": 6, "dwelling_restored": 9}, {("a", "b"): 15}))
    assert body["costs_avoided"]["total_dkk"] == 15 * 500_000


def test_response_times_withhold_small_groups_and_their_hours() -> None:
    hours = {"median": 3.0, "p90": 5.0}
    groups = [
        {"target": "municipality", "referrals": 9, "acknowledged": 8, "completed": 2, "breached": 0},
        {"target": "association", "referrals": 2, "acknowledged": 2, "completed": 0, "breached": 0},
        {"target": "consultant", "referrals": 12, "acknowledged": 10, "completed": 7, "breached": 0},
    ]
    body = {
        "group_by": "target",
        "groups": [{**g, "hours_to_acknowledgement": dict(hours), "hours_to_completion": dict(hours)} for g in groups],
    }
    out = Disclosure(5).response_times(body)["groups"]
    assert [g["referrals"] for g in out] == [None, None, 12]
    assert [g["acknowledged"] for g in out] == [None, None, 10]
    assert [g["hours_to_acknowledgement"]["median"] for g in out] == [3.0, None, 3.0]  # 8 is no small count
    assert [g["completed"] for g in out] == [None, 0, None]  # zeros are shown; 7 goes with the 2
    assert [g["hours_to_completion"]["median"] for g in out] == [None, 3.0, 3.0]


def test_hotspots_keep_an_unseen_department_from_the_baseline() -> None:
    reference = ReferenceData(
        departments={
            "mine": Department("mine", "Mine", "org", "0316", 100),
            "theirs": Department("theirs", "Theirs", "org", "0326", 100),
        }
    )
    day = date(2026, 3, 2)
    rows = [
        {"day": day, "department_id": "mine", "municipality_code": "0316", "severity": "low", "concerns": 10},
        {"day": day, "department_id": "theirs", "municipality_code": "0326", "severity": "low", "concerns": 3},
    ]
    consultant = select(
        Principal(client_id="c", role=Role.CONSULTANT, department_ids=frozenset({"mine"})),
        municipality=None,
        department=None,
        category=None,
    )
    # The baseline (13) minus the consultant's 10 would tell it the other department has 3: the baseline goes.
    assert _withheld_departments(Disclosure(5), reference, rows, consultant) == (set(), {"org"})
    ops = select(Principal(client_id="o", role=Role.OPS), municipality=None, department=None, category=None)
    assert _withheld_departments(Disclosure(5), reference, rows, ops) == ({"mine", "theirs"}, {"org"})
    assert _withheld_departments(Disclosure(2), reference, rows, ops) == (set(), set())


async def test_a_municipality_compares_only_with_hours_of_enough_referrals(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {
            "municipality_code": code,
            "target": "municipality",
            "referrals": n,
            "acknowledged": n,
            "completed": 0,
            "breached": 0,
            "ack_hours": [h, h],
            "completion_hours": [None, None],
        }
        for code, n, h in [("0316", 9, 1.0), ("0326", 9, 2.0), ("0330", 9, 3.0), ("0340", 1, 99.0)]
    ]

    async def response_times(conn, period, selection, group_by):  # noqa: ANN001, ANN202
        return rows if group_by == "both" else rows[:1]

    monkeypatch.setattr(queries, "response_times", response_times)
    holbaek = select(
        Principal(client_id="h", role=Role.MUNICIPALITY, municipality_code="0316"),
        municipality=None,
        department=None,
        category=None,
    )
    start = date(2026, 3, 2)
    context = StatsContext(ReferenceData(version="1"), UnitCosts())
    body = await stats.response_times(Period(start, start), holbaek, context, None, "municipality")
    # 0340's one referral (99 hours) stays out: two others are too few for a median.
    assert body["comparison"]["all"]["median_hours_to_acknowledgement"] == {
        "municipalities": 2,
        "median": None,
        "withheld": True,
    }


def test_referral_states_are_protected_within_their_target_whose_total_response_times_show() -> None:
    referrals = {
        ("municipality", "requested"): 20,
        ("municipality", "accepted"): 1,
        ("consultant", "accepted"): 7,
        ("consultant", "requested"): 30,
    }
    body = Disclosure(5).overview(_overview({"support_established": 9}, referrals))
    # 21 municipality referrals (response times by target) minus 20 would give the 1 back: the 20 goes with it.
    assert [r["referrals"] for r in body["referrals"]["by_target_and_status"]] == [None, None, 7, 30]
    assert body["referrals"]["total"] == 58
