"""Assembling the API's answers from query rows: pure, so every number has one definition."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from services.stats.domain.calendar import Period
from services.stats.domain.comparison import median_of_others
from services.stats.domain.reference import ReferenceData


def rate_per_100(concerns: int, tenancies: int | None) -> float | None:
    """Concerns per 100 tenancies, None without a known number of tenancies."""
    return round(100 * concerns / tenancies, 3) if tenancies else None


def concern_section(rows: Iterable[Mapping[str, Any]], period: Period, reference: ReferenceData) -> dict:
    """Concerns: total, by day (every day of the period), department (with rate), municipality and severity."""
    by_day: dict[str, int] = defaultdict(int)
    by_department: dict[tuple[str, str], int] = defaultdict(int)
    by_municipality: dict[str, int] = defaultdict(int)
    by_severity: dict[str, int] = defaultdict(int)
    for row in rows:
        by_day[row["day"].isoformat()] += row["concerns"]
        by_department[(row["department_id"], row["municipality_code"])] += row["concerns"]
        by_municipality[row["municipality_code"]] += row["concerns"]
        by_severity[row["severity"]] += row["concerns"]
    days = [(period.start + timedelta(days=i)).isoformat() for i in range(period.days)]
    departments = []
    for (department_id, code), count in sorted(by_department.items(), key=lambda item: (-item[1], item[0])):
        tenancies = reference.tenancies(department_id)
        departments.append(
            {
                "department_id": department_id,
                "name": reference.department_name(department_id),
                "municipality_code": code,
                "concerns": count,
                "tenancies": tenancies,
                "rate_per_100_tenancies": rate_per_100(count, tenancies),
            }
        )
    return {
        "total": sum(by_day.values()),
        "by_day": [{"day": day, "concerns": by_day.get(day, 0)} for day in days],
        "by_department": departments,
        "by_municipality": [
            {"municipality_code": code, "name": reference.municipality_name(code), "concerns": count}
            for code, count in sorted(by_municipality.items(), key=lambda item: (-item[1], item[0]))
        ],
        "by_severity": [
            {"severity": severity, "concerns": by_severity.get(severity, 0)}
            for severity in ("low", "medium", "high", "acute")
        ],
    }


def municipality_rates(rows: Iterable[Mapping[str, Any]], reference: ReferenceData) -> dict[str, float | None]:
    """Concerns per 100 tenancies of every municipality with known tenancies (for anonymous comparisons)."""
    concerns: dict[str, int] = defaultdict(int)
    for row in rows:
        concerns[row["municipality_code"]] += row["concerns"]
    tenancies: dict[str, int] = defaultdict(int)
    for department in reference.departments.values():
        tenancies[department.municipality_code] += department.tenancies
    return {code: rate_per_100(concerns.get(code, 0), total) for code, total in tenancies.items()}


def referral_section(rows: Iterable[Mapping[str, Any]]) -> dict:
    """Referrals by target and state, with SLA breaches and escalations."""
    items = [dict(row) for row in rows]
    return {
        "total": sum(r["referrals"] for r in items),
        "by_target_and_status": [
            {"target": r["target"], "status": r["status"], "referrals": r["referrals"]} for r in items
        ],
        "sla": {
            "breached_referrals": sum(r["breached"] for r in items),
            "breaches": sum(r["sla_breaches"] for r in items),
            "escalations": sum(r["escalations"] for r in items),
        },
    }


def hours(values: list[float] | None) -> dict[str, float | None]:
    """Median and p90 from percentile_cont(ARRAY[0.5, 0.9]); None when nothing was measured."""
    if not values or values[0] is None:
        return {"median": None, "p90": None}
    return {"median": round(values[0], 3), "p90": round(values[1], 3)}


def response_row(row: Mapping[str, Any]) -> dict:
    """One group's response times in hours."""
    return {
        "referrals": row["referrals"],
        "acknowledged": row["acknowledged"],
        "completed": row["completed"],
        "breached": row["breached"],
        "hours_to_acknowledgement": hours(row["ack_hours"]),
        "hours_to_completion": hours(row["completion_hours"]),
    }


def response_comparison(rows: Iterable[Mapping[str, Any]], own: str, key: str | None) -> dict:
    """Medians of the other municipalities' median hours (per target when `key` is `target`)."""
    groups: dict[str, dict[str, dict[str, float | None]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        group = row[key] if key else "all"
        groups[group]["ack"][row["municipality_code"]] = hours(row["ack_hours"])["median"]
        groups[group]["done"][row["municipality_code"]] = hours(row["completion_hours"])["median"]
    return {
        group: {
            "median_hours_to_acknowledgement": median_of_others(values["ack"], own),
            "median_hours_to_completion": median_of_others(values["done"], own),
        }
        for group, values in sorted(groups.items())
    }
