"""The stats domain: hotspot statistics, Danish days and periods, scope, comparisons, estimates, reports."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.stats.domain.calendar import Period, PeriodError, local_day
from services.stats.domain.comparison import median_of_others
from services.stats.domain.costs import UnitCosts, estimate
from services.stats.domain.facts import ERASED, acknowledges, settle
from services.stats.domain.hotspots import assess, byar_interval, trend, wilson_interval
from services.stats.domain.reference import Department, ReferenceData
from services.stats.domain.reports import concern_section, rate_per_100
from services.stats.domain.scope import OutOfScope, select
from shared.auth.principal import Principal, Role

pytestmark = pytest.mark.unit

# Exact 95 % Poisson intervals (chi-square quantiles), to which Byar's approximation must come close.
EXACT = {5: (1.6235, 11.6683), 10: (4.7954, 18.3904), 50: (37.1111, 65.9193), 200: (173.2287, 229.7349)}


@pytest.mark.parametrize("observed", sorted(EXACT))
def test_byar_interval_is_close_to_the_exact_poisson_interval(observed: int) -> None:
    low, high = byar_interval(observed)
    exact_low, exact_high = EXACT[observed]
    assert low == pytest.approx(exact_low, rel=0.01) and high == pytest.approx(exact_high, rel=0.01)


def test_byar_interval_of_nothing_starts_at_zero() -> None:
    low, high = byar_interval(0)
    assert low == 0.0 and high == pytest.approx(3.689, abs=0.03)
    with pytest.raises(ValueError):
        byar_interval(-1)


def test_a_department_is_a_hotspot_only_when_the_interval_lies_above_one() -> None:
    # 300 tenancies at an organisation rate of 0.05 per tenancy: 15 expected.
    assert assess(30, 300, 0.05).hotspot  # ratio 2, interval (1.35, 2.86)
    assert not assess(20, 300, 0.05).hotspot  # ratio 1.33, interval includes 1
    assert not assess(5, 300, 0.05).hotspot
    high = assess(30, 300, 0.05)
    assert high.rate_ratio == pytest.approx(2.0) and high.lower > 1 and high.upper > high.rate_ratio
    assert assess(3, 300, 0.0).rate_ratio is None


def test_trend_is_rising_falling_or_stable_by_the_wilson_interval() -> None:
    assert trend(30, 10).direction == "rising"
    assert trend(10, 30).direction == "falling"
    assert trend(12, 10).direction == "stable"
    assert trend(0, 0).direction == "stable" and trend(0, 0).as_dict()["ratio"] is None
    low, high = wilson_interval(20, 40)
    assert low < 0.5 < high and low == pytest.approx(1 - high)


def test_a_day_is_the_danish_calendar_day() -> None:
    assert local_day(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)
    assert local_day(datetime(2025, 7, 1, 21, 59, tzinfo=UTC)) == date(2025, 7, 1)  # summer time: 23:59
    assert local_day(datetime(2025, 7, 1, 22, 0, tzinfo=UTC)) == date(2025, 7, 2)


def test_periods_default_to_90_days_and_name_the_field_at_fault() -> None:
    period = Period.of(None, None, now=date(2025, 3, 31))
    assert (period.start, period.end, period.days) == (date(2025, 1, 1), date(2025, 3, 31), 90)
    assert period.previous() == Period(date(2024, 10, 3), date(2024, 12, 31))
    with pytest.raises(PeriodError) as refused:
        Period.of(date(2025, 2, 2), date(2025, 2, 1))
    assert refused.value.field == "from"
    with pytest.raises(PeriodError):
        Period.of(date(2015, 1, 1), date(2025, 1, 1))
    for start, end, field in ((date(1, 1, 1), None, "from"), (None, date(1, 1, 1), "to"), (None, date.max, "to")):
        with pytest.raises(PeriodError) as refused:
            Period.of(start, end, now=date(2025, 3, 31))  # a date of no statistic: 422, not an overflow's 500
        assert refused.value.field == field
    assert Period.of(date(2000, 1, 1), date(2000, 1, 1)).previous() == Period(date(1999, 12, 31), date(1999, 12, 31))


def test_scope_of_each_role_and_filters_beyond_it() -> None:
    ops = select(Principal("c1", Role.OPS), municipality=None, department=None, category=None)
    assert ops.municipalities is None and ops.departments is None and ops.compare_with_other_municipalities is None
    holbaek = Principal("c2", Role.MUNICIPALITY, municipality_code="0316")
    own = select(holbaek, municipality=None, department="holbaek-1", category="noise")
    assert own.municipalities == {"0316"} and own.departments == {"holbaek-1"} and own.category == "noise"
    assert own.compare_with_other_municipalities == "0316"
    assert not own.allows_department("hoeng-1", "0326")
    with pytest.raises(OutOfScope) as refused:
        select(holbaek, municipality="0326", department=None, category=None)
    assert refused.value.field == "municipality"
    consultant = Principal("c3", Role.CONSULTANT, department_ids=frozenset({"hoeng-1"}))
    assert select(consultant, municipality=None, department=None, category=None).departments == {"hoeng-1"}
    with pytest.raises(OutOfScope):
        select(consultant, municipality=None, department="holbaek-1", category=None)
    with pytest.raises(PermissionError):
        select(Principal("c4", Role.REPORTER, organisation_id="org"), municipality=None, department=None, category=None)


def test_comparison_is_withheld_with_fewer_than_three_others_and_never_includes_the_own_value() -> None:
    assert median_of_others({"a": 1.0, "b": 2.0, "c": 9.0, "own": 100.0}, "own")["median"] == 2.0
    assert median_of_others({"a": 1.0, "b": 2.0, "own": 3.0}, "own") == {
        "municipalities": 2,
        "median": None,
        "withheld": True,
    }


def test_costs_avoided_are_an_estimate_counted_per_concern_and_outcome() -> None:
    result = estimate(
        {"eviction_avoided": 2, "dwelling_restored": 1, "support_established": 9}, UnitCosts(500_000, 300_000)
    )
    assert result["estimate"] is True and "Skøn" in result["label"]
    assert result["total_dkk"] == 1_300_000
    assert {i["outcome"]: i["amount_dkk"] for i in result["items"]} == {
        "eviction_avoided": 1_000_000,
        "dwelling_restored": 300_000,
    }


def test_acknowledgement_is_a_recipients_answer_and_repeats_are_three_in_ninety_days() -> None:
    assert acknowledges("received", "municipality") and acknowledges("rejected", "consultant")
    assert not acknowledges("received", "system") and not acknowledges("cancelled", "municipality")
    t = datetime(2025, 5, 1, tzinfo=UTC)
    days = [datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), t]
    assert settle([(f"c{n}", "k", at) for n, at in enumerate(days)], ())[-1] == ("k", False, True)
    outside = [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), t]
    assert settle([(f"c{n}", "k", at) for n, at in enumerate(outside)], ())[-1] == ("k", False, False)


def test_the_window_is_ninety_times_24_hours_both_ends_inclusive_and_a_tie_counts() -> None:
    t = datetime(2025, 5, 1, 12, tzinfo=UTC)
    edge = [("a", "k", t - timedelta(days=90)), ("b", "k", t - timedelta(days=1)), ("c", "k", t)]
    assert settle(edge, ()) == [("k", False, False), ("k", False, False), ("k", False, True)]
    just_out = [("a", "k", t - timedelta(days=90, microseconds=1)), *edge[1:]]
    assert [s[2] for s in settle(just_out, ())] == [False, False, False]
    ties = [("a", "k", t), ("b", "k", t), ("c", "k", t), ("d", "other", t), ("e", None, t)]
    assert [s[2] for s in settle(ties, ())] == [True, True, True, False, False]


def test_an_erased_concern_keeps_no_pseudonym_is_no_repeat_and_counts_towards_none() -> None:
    t = datetime(2025, 5, 1, tzinfo=UTC)
    facts = [(f"c{n}", "k", t + timedelta(days=n)) for n in range(4)]

    assert [s[2] for s in settle(facts, ())] == [False, False, True, True]
    assert settle(facts, {"c1"}) == [("k", False, False), ERASED, ("k", False, False), ("k", False, True)]
    assert settle([("c9", None, t)], {"c9"}) == [ERASED] == [(None, True, False)]


def test_concern_section_covers_every_day_and_rates_per_100_tenancies() -> None:
    reference = ReferenceData({"d1": Department("d1", "Afdeling 1", "org", "0316", 200)}, {"0316": "Holbæk"})
    rows = [
        {
            "day": date(2025, 1, 2),
            "department_id": "d1",
            "municipality_code": "0316",
            "severity": "high",
            "concerns": 3,
        },
        {"day": date(2025, 1, 2), "department_id": "dx", "municipality_code": "0316", "severity": "low", "concerns": 1},
    ]
    section = concern_section(rows, Period(date(2025, 1, 1), date(2025, 1, 3)), reference)
    assert [d["concerns"] for d in section["by_day"]] == [0, 4, 0] and section["total"] == 4
    known, unknown = section["by_department"]
    assert known["rate_per_100_tenancies"] == 1.5 and known["name"] == "Afdeling 1"
    assert unknown["tenancies"] is None and unknown["rate_per_100_tenancies"] is None
    assert section["by_municipality"] == [{"municipality_code": "0316", "name": "Holbæk", "concerns": 4}]
    assert rate_per_100(0, None) is None
