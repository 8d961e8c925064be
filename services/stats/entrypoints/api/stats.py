"""HTTP routes of the stats service (DESIGN.md, "Public HTTP contract"): scoped by the caller's token."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.stats.adapters import queries
from services.stats.domain import reports
from services.stats.domain.calendar import Period
from services.stats.domain.comparison import median_of_others
from services.stats.domain.costs import estimate
from services.stats.domain.disclosure import Disclosure, Unprotectable
from services.stats.domain.hotspots import METHOD, METHOD_DA, assess, trend
from services.stats.domain.reference import ReferenceData
from services.stats.domain.scope import Selection, select
from services.stats.entrypoints.deps import ConnectionDep, ContextDep, PeriodDep, Reader, SelectionDep
from services.stats.entrypoints.schemas import (
    HotspotsOut,
    OverviewOut,
    ResponseTimesOut,
    ScopeOut,
    SuggestionsOut,
    UnderretningerOut,
)
from shared.contracts.vocabulary import Category
from shared.web.errors import AUTHENTICATED, problem_responses

router = APIRouter(prefix="/v1/stats", tags=["stats"], responses=problem_responses(*AUTHENTICATED))


def _period(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), "days": period.days}


@router.get(
    "/scope", response_model=ScopeOut, summary="What the caller may see: municipalities and departments to filter by."
)
async def scope(principal: Reader, context: ContextDep) -> dict:
    """The departments (with names and tenancies) and municipalities within the caller's scope."""
    visible = select(principal, municipality=None, department=None, category=None)
    departments = [
        {"id": d.id, "name": d.name, "municipality_code": d.municipality_code, "tenancies": d.tenancies}
        for d in context.reference.departments.values()
        if visible.allows_department(d.id, d.municipality_code)
    ]
    codes = sorted({d["municipality_code"] for d in departments})
    return {
        "role": principal.role.value,
        "municipalities": [{"code": c, "name": context.reference.municipality_name(c)} for c in codes],
        "departments": departments,
        "categories": [c.value for c in Category if c.value not in visible.hidden_categories],
        "suppression": context.disclosure.describe(),
    }


@router.get(
    "/overview",
    response_model=OverviewOut,
    response_model_exclude_unset=True,
    summary="Concerns, referrals, response, outcomes and estimated costs avoided.",
)
async def overview(period: PeriodDep, selection: SelectionDep, context: ContextDep, conn: ConnectionDep) -> dict:
    """Everything the dashboard shows for a period and filters, within the caller's scope."""
    counts = await queries.concern_counts(conn, period, selection)
    categories = await queries.category_counts(conn, period, selection)
    repeat = await queries.repeats(conn, period, selection)
    states = await queries.referral_states(conn, period, selection)
    outcome_rows = await queries.outcomes(conn, period, selection)
    department_scoped = selection.departments is not None or selection.category is not None
    delivery_rows = None if department_scoped else await queries.deliveries(conn, period, selection)
    # Every department's counts: the overview withholds what the hotspots would (one rule for both answers).
    everyone = await queries.concern_counts(conn, period, Selection(category=selection.category))
    body = {
        "period": _period(period),
        "filters": _filters(selection),
        "concerns": reports.concern_section(counts, period, context.reference),
        "categories": [dict(row) for row in categories if row["category"] not in selection.hidden_categories],
        "repeat_tenancies": {
            "tenancies": repeat["tenancies"],
            "concerns": repeat["concerns"],
            "definition": "3 or more concerns about one tenancy within 90 days (the 3rd and later are repeats)",
        },
        "referrals": reports.referral_section(states),
        "outcomes": [dict(row) for row in outcome_rows],
        "costs_avoided": estimate({r["outcome"]: r["concerns"] for r in outcome_rows}, context.unit_costs),
        "notifications": None if delivery_rows is None else [dict(row) for row in delivery_rows],
    }
    scoped, organisations = _department_cells(context.reference, everyone, selection)
    context.disclosure.overview(body, organisations, {d: code for d, (code, _) in scoped.items()})
    if selection.compare_with_other_municipalities:
        own = selection.compare_with_other_municipalities
        rates = reports.municipality_rates(everyone, context.reference)
        own_concerns = sum(row["concerns"] for row in everyone if row["municipality_code"] == own)
        own_rate = None if context.disclosure.small(own_concerns) else rates.get(own)
        body["comparison"] = {
            "concerns_per_100_tenancies": {"own": own_rate, "other_municipalities": median_of_others(rates, own)}
        }
    return body


def _filters(selection: Selection) -> dict:
    return {
        "municipalities": sorted(selection.municipalities) if selection.municipalities is not None else None,
        "departments": sorted(selection.departments) if selection.departments is not None else None,
        "category": selection.category,
    }


@router.get(
    "/response-times",
    response_model=ResponseTimesOut,
    response_model_exclude_unset=True,
    summary="Hours to acknowledgement and completion (median, p90).",
)
async def response_times(
    period: PeriodDep,
    selection: SelectionDep,
    context: ContextDep,
    conn: ConnectionDep,
    group_by: Annotated[
        Literal["municipality", "target"], Query(description="municipality or target")
    ] = "municipality",
) -> dict:
    """Response times of referrals created in the period, by municipality or by recipient type (target)."""
    rows = await queries.response_times(conn, period, selection, group_by)
    others = None
    if selection.compare_with_other_municipalities:
        both = await queries.response_times(conn, period, Selection(category=selection.category), "both")
        # A municipality's hours of fewer than min_count referrals would be their own times (a median of three
        # municipalities is one of them): such hours do not go into the comparison.
        small = context.disclosure.small
        both = [
            {
                **dict(row),
                "ack_hours": None if small(row["acknowledged"]) else row["ack_hours"],
                "completion_hours": None if small(row["completed"]) else row["completion_hours"],
            }
            for row in both
        ]
        others = reports.response_comparison(
            both, selection.compare_with_other_municipalities, "target" if group_by == "target" else None
        )
    key = "municipality_code" if group_by == "municipality" else "target"
    body = {
        "period": _period(period),
        "filters": _filters(selection),
        "group_by": group_by,
        "definition": "hours from the referral's creation to the recipient's first answer (received, accepted, "
        "rejected or later; system moves do not count) and to completion; referrals created in the period",
        "groups": [{group_by: row[key], **reports.response_row(row)} for row in rows],
    }
    context.disclosure.response_times(body)
    if others is not None:
        body["comparison"] = others
    return body


@router.get(
    "/underretninger",
    response_model=UnderretningerOut,
    summary="Underretninger to the children and youth entries per municipality and department, and receipt times.",
)
async def underretninger(period: PeriodDep, selection: SelectionDep, context: ContextDep, conn: ConnectionDep) -> dict:
    """Referrals created in the period to a municipality's children and youth entry (an underretning, barnets lov):
    how many, how many receipts were confirmed, the median hours to that confirmation, how many ran past a clock."""
    entries = context.reference.children_entries
    rows = await queries.underretninger(conn, period, selection, entries) if entries else []
    disclosure, reference = context.disclosure, context.reference
    groups = []
    for row in rows:
        total, confirmed, breached = row["underretninger"], row["confirmed"], row["breached"]
        # A part whose rest is small would give that rest back: both are withheld then.
        shown_confirmed = not (disclosure.small(confirmed) or disclosure.small(total - confirmed))
        shown_breached = not (disclosure.small(breached) or disclosure.small(total - breached))
        groups.append(
            {
                "municipality_code": row["municipality_code"],
                "municipality_name": reference.municipality_name(row["municipality_code"]),
                "department_id": row["department_id"],
                "department_name": reference.department_name(row["department_id"]),
                "underretninger": disclosure.count(total),
                "confirmed": confirmed if shown_confirmed and not disclosure.small(total) else None,
                "breached": breached if shown_breached and not disclosure.small(total) else None,
                "receipt_hours_median": None
                if disclosure.small(confirmed) or row["receipt_hours"] is None
                else round(row["receipt_hours"], 1),
            }
        )
    return {
        "period": _period(period),
        "filters": _filters(selection),
        "definition": "referrals created in the period to a children and youth entry of the reference directory; "
        "confirmed: the municipality acknowledged it (its receipt is due within 6 working days); hours from creation",
        "groups": groups,
        "suppression": disclosure.describe(),
    }


HINT_CATEGORY = {
    "possible_hoarding": "hoarding",
    "possible_dementia": "dementia_signs",
    "possible_mental_health": "mental_health",
    "possible_substance_abuse": "substance_abuse",
    "possible_eviction": "eviction_risk",
}
"""The category whose recipients each hint suggests (routing's rule): a caller who may not see the category does
not see its hint's suggestions either."""


@router.get(
    "/suggestions",
    response_model=SuggestionsOut,
    summary="Suggestions from hints per hint: made, confirmed, dismissed and open.",
)
async def suggestions(period: PeriodDep, selection: SelectionDep, context: ContextDep, conn: ConnectionDep) -> dict:
    """Recipients suggested in the period because intake's triage read a hint (hoarding, dementia, mental health,
    substance abuse, eviction), and what the consultants decided. A small count is withheld; where one of the
    decided, dismissed and open counts is small, all three are (any two and the total would give it back)."""
    disclosure = context.disclosure
    groups = []
    for row in await queries.suggestions(conn, period, selection):
        category = HINT_CATEGORY.get(row["hint"])
        if category in selection.hidden_categories or selection.category not in (None, category):
            continue
        parts = {name: row[name] for name in ("confirmed", "dismissed", "open")}
        shown = not disclosure.small(row["made"]) and not any(disclosure.small(n) for n in parts.values())
        groups.append(
            {"hint": row["hint"], "made": disclosure.count(row["made"])}
            | {name: n if shown else None for name, n in parts.items()}
        )
    return {
        "period": _period(period),
        "filters": _filters(selection),
        "definition": "recipients routing suggested in the period because the description pointed to a category "
        "the reporter did not choose (a hint), and the consultant's decision on each (confirmed: referred)",
        "groups": groups,
        "suppression": disclosure.describe(),
    }


@router.get(
    "/hotspots",
    response_model=HotspotsOut,
    summary="Departments whose concern rate stands out from the organisation's baseline.",
)
async def hotspots(period: PeriodDep, selection: SelectionDep, context: ContextDep, conn: ConnectionDep) -> dict:
    """Rate ratio per department against its organisation's rate, with a 95 % interval and the trend."""
    previous = period.previous()
    unscoped = Selection(category=selection.category)
    rows = await queries.concern_counts(conn, period, unscoped)
    now = _by_department(rows)
    before = _by_department(await queries.concern_counts(conn, previous, unscoped))
    reference = context.reference
    baselines: dict[str, dict] = {}
    for department in reference.departments.values():
        base = baselines.setdefault(department.organisation_id, {"concerns": 0, "tenancies": 0})
        base["concerns"] += now.get(department.id, 0)
        base["tenancies"] += department.tenancies
    disclosure = context.disclosure
    hidden, hidden_baselines = _withheld_departments(disclosure, reference, rows, selection)
    departments = []
    for department in reference.departments.values():
        if not selection.allows_department(department.id, department.municipality_code):
            continue
        base = baselines[department.organisation_id]
        result = assess(now.get(department.id, 0), department.tenancies, base["concerns"] / base["tenancies"])
        previous_concerns = before.get(department.id, 0)
        row = {
            "department_id": department.id,
            "name": department.name,
            "municipality_code": department.municipality_code,
            "tenancies": department.tenancies,
            "concerns": result.observed,
            "rate_per_100_tenancies": reports.rate_per_100(result.observed, department.tenancies),
            "expected_concerns": round(result.expected, 3),
            "rate_ratio": None if result.rate_ratio is None else round(result.rate_ratio, 3),
            "rate_ratio_interval": None if result.lower is None else [round(result.lower, 3), round(result.upper, 3)],
            "hotspot": result.hotspot,
            "trend": trend(result.observed, previous_concerns).as_dict(),
        }
        if department.id in hidden:
            row.update(concerns=None, rate_per_100_tenancies=None, rate_ratio=None, rate_ratio_interval=None)
        if department.organisation_id in hidden_baselines:
            row.update(expected_concerns=None, rate_ratio=None, rate_ratio_interval=None)
        if row["concerns"] is None or disclosure.small(previous_concerns):
            # The ratio and the share's interval would give both counts back.
            row["trend"].update(ratio=None, recent_share_interval=None)
        row["trend"]["previous_concerns"] = disclosure.count(previous_concerns)
        departments.append(row)
    departments.sort(key=lambda d: (-(d["rate_ratio"] or 0), d["department_id"]))
    return {
        "period": _period(period),
        "previous_period": _period(previous),
        "filters": _filters(selection),
        "method": METHOD,
        "method_da": METHOD_DA,
        "baselines": [
            {
                "organisation_id": org,
                "name": reference.organisations.get(org, org),
                "concerns": None if org in hidden_baselines else base["concerns"],
                "tenancies": base["tenancies"],
                "rate_per_100_tenancies": None
                if org in hidden_baselines
                else reports.rate_per_100(base["concerns"], base["tenancies"]),
            }
            for org, base in sorted(baselines.items())
        ],
        "departments": departments,
        "hotspots": [d["department_id"] for d in departments if d["hotspot"]],
        "suppression": disclosure.describe(),
    }


def _withheld_departments(
    disclosure: Disclosure, reference: ReferenceData, rows: list, selection: Selection
) -> tuple[set[str], set[str]]:
    """Departments whose counts are withheld, and organisations whose baseline is (with its expected counts).

    The one rule of the overview and the hotspots (`Disclosure.departments`), from the rows of every
    department (`rows`, unscoped), so that neither answer gives back what the other withholds.
    """
    scoped, organisations = _department_cells(reference, rows, selection)
    try:
        _, hidden, hidden_baselines = disclosure.departments(scoped, organisations)
    except Unprotectable:
        hidden = {d for d, (_, n) in scoped.items() if n}
        hidden_baselines = set(organisations)
    return hidden, hidden_baselines


def _department_cells(
    reference: ReferenceData, rows: list, selection: Selection
) -> tuple[dict[str, tuple[str, int]], dict[str, dict[str, int]]]:
    """The caller's departments (municipality, count; those without concerns too) and every organisation's."""
    counts: dict[str, list] = {}
    for row in rows:
        cell = counts.setdefault(row["department_id"], [row["municipality_code"], 0])
        cell[1] += row["concerns"]
    scoped = {
        d.id: (d.municipality_code, 0)
        for d in reference.departments.values()
        if selection.allows_department(d.id, d.municipality_code)
    }
    scoped |= {d: (code, n) for d, (code, n) in counts.items() if selection.allows_department(d, code)}
    organisations: dict[str, dict[str, int]] = {}
    for d in reference.departments.values():
        organisations.setdefault(d.organisation_id, {})[d.id] = counts.get(d.id, [None, 0])[1]
    return scoped, organisations


def _by_department(rows: list) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["department_id"]] = totals.get(row["department_id"], 0) + row["concerns"]
    return totals
