"""Read side: the SQL behind the stats API, over the projections and their daily rollups."""

from dataclasses import dataclass
from typing import Any

import asyncpg

from services.stats.domain.calendar import Period
from services.stats.domain.scope import Selection


@dataclass
class Where:
    """A WHERE clause built from a period and a selection, with numbered parameters."""

    clauses: list[str]
    params: list[Any]

    @classmethod
    def of(cls, period: Period, selection: Selection | None, *, category_column: str | None) -> "Where":
        """Filters of a table with day, municipality_code, department_id and a category column (or array)."""
        where = cls(["day BETWEEN $1 AND $2"], [period.start, period.end])
        if selection is not None:
            if selection.municipalities is not None:
                where.add("municipality_code = ANY({})", sorted(selection.municipalities))
            if selection.departments is not None:
                where.add("department_id = ANY({})", sorted(selection.departments))
            if selection.category is not None and category_column == "category":
                where.add("category = {}", selection.category)
            elif selection.category is not None and category_column:
                where.add("{} = ANY(" + category_column + ")", selection.category)
        return where

    def add(self, template: str, value: Any) -> None:
        """Add a clause whose `{}` is the next parameter."""
        self.params.append(value)
        self.clauses.append(template.format(f"${len(self.params)}"))

    @property
    def sql(self) -> str:
        """The clauses joined with AND."""
        return " AND ".join(self.clauses)


async def concern_counts(conn: asyncpg.Connection, period: Period, selection: Selection | None) -> list[asyncpg.Record]:
    """Concerns by day, department, municipality and severity (of the category, when one is selected)."""
    by_category = selection is not None and selection.category is not None
    table = "concern_category_counts" if by_category else "concern_counts"
    where = Where.of(period, selection, category_column="category")
    return await conn.fetch(
        f"SELECT day, department_id, municipality_code, severity, sum(concerns)::int AS concerns FROM {table} "  # noqa: S608
        f"WHERE {where.sql} GROUP BY 1, 2, 3, 4",
        *where.params,
    )


async def category_counts(conn: asyncpg.Connection, period: Period, selection: Selection) -> list[asyncpg.Record]:
    """Concerns by category (a concern with two categories counts under each)."""
    where = Where.of(period, selection, category_column="category")
    return await conn.fetch(
        f"SELECT category, sum(concerns)::int AS concerns FROM concern_category_counts WHERE {where.sql} "  # noqa: S608
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        *where.params,
    )


async def repeats(conn: asyncpg.Connection, period: Period, selection: Selection) -> asyncpg.Record:
    """Repeat concerns (3+ about one tenancy within 90 days) and how many tenancies they concern."""
    where = Where.of(period, selection, category_column="categories")
    return await conn.fetchrow(
        "SELECT count(*)::int AS concerns, count(DISTINCT subject_key)::int AS tenancies "  # noqa: S608
        f"FROM concern_facts WHERE repeated AND {where.sql}",
        *where.params,
    )


async def referral_states(conn: asyncpg.Connection, period: Period, selection: Selection) -> list[asyncpg.Record]:
    """Referrals created in the period by target and current state, with their clock events."""
    where = Where.of(period, selection, category_column="categories")
    return await conn.fetch(
        "SELECT target, status, count(*)::int AS referrals, count(*) FILTER (WHERE sla_breaches > 0)::int AS breached, "  # noqa: S608
        "sum(sla_breaches)::int AS sla_breaches, sum(escalations)::int AS escalations "
        f"FROM referrals WHERE {where.sql} GROUP BY 1, 2 ORDER BY 1, 2",
        *where.params,
    )


async def outcomes(conn: asyncpg.Connection, period: Period, selection: Selection) -> list[asyncpg.Record]:
    """Completed referrals by outcome, and the distinct concerns behind them."""
    where = Where.of(period, selection, category_column="categories")
    return await conn.fetch(
        "SELECT outcome, count(*)::int AS referrals, count(DISTINCT concern_id)::int AS concerns "  # noqa: S608
        f"FROM referrals WHERE outcome IS NOT NULL AND {where.sql} GROUP BY 1 ORDER BY 1",
        *where.params,
    )


async def deliveries(conn: asyncpg.Connection, period: Period, selection: Selection) -> list[asyncpg.Record]:
    """Notifications by channel: delivered, finally failed, still retrying, failed attempts, median latency."""
    where = Where.of(period, Selection(municipalities=selection.municipalities), category_column=None)
    return await conn.fetch(
        "SELECT channel, count(*) FILTER (WHERE delivered_at IS NOT NULL)::int AS delivered, "  # noqa: S608
        "count(*) FILTER (WHERE delivered_at IS NULL AND final_failed)::int AS failed, "
        "count(*) FILTER (WHERE delivered_at IS NULL AND NOT final_failed)::int AS retrying, "
        "sum(failed_attempts)::int AS failed_attempts, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median_latency_ms "
        f"FROM deliveries WHERE {where.sql} GROUP BY 1 ORDER BY 1",
        *where.params,
    )


async def underretninger(
    conn: asyncpg.Connection, period: Period, selection: Selection | None, entries: frozenset[str]
) -> list[asyncpg.Record]:
    """Underretninger (referrals to a children and youth entry) by municipality and department: how many, how many
    the municipality confirmed (acknowledged), median hours to that receipt, and how many ran past a clock."""
    where = Where.of(period, selection, category_column="categories")
    where.add("recipient_id = ANY({})", sorted(entries))
    return await conn.fetch(
        f"""
        SELECT municipality_code, department_id, count(*)::int AS underretninger,
               count(acknowledged_at)::int AS confirmed,
               count(*) FILTER (WHERE sla_breaches > 0)::int AS breached,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM acknowledged_at - created_at) / 3600) AS receipt_hours
          FROM referrals WHERE {where.sql} GROUP BY 1, 2 ORDER BY 1, 2
        """,  # noqa: S608 - the filters are bind parameters
        *where.params,
    )


async def response_times(
    conn: asyncpg.Connection, period: Period, selection: Selection | None, group_by: str
) -> list[asyncpg.Record]:
    """Median and p90 hours to acknowledgement and to completion, by `municipality_code` and/or `target`."""
    columns = {"municipality": "municipality_code", "target": "target", "both": "municipality_code, target"}[group_by]
    where = Where.of(period, selection, category_column="categories")
    return await conn.fetch(
        f"""
        SELECT {columns}, count(*)::int AS referrals,
               count(acknowledged_at)::int AS acknowledged, count(completed_at)::int AS completed,
               count(*) FILTER (WHERE sla_breaches > 0)::int AS breached,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
                   ORDER BY extract(epoch FROM acknowledged_at - created_at) / 3600) AS ack_hours,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
                   ORDER BY extract(epoch FROM completed_at - created_at) / 3600) AS completion_hours
          FROM referrals WHERE {where.sql} GROUP BY {columns} ORDER BY {columns}
        """,  # noqa: S608 - columns come from a fixed mapping
        *where.params,
    )


async def suggestions(conn: asyncpg.Connection, period: Period, selection: Selection | None) -> list[asyncpg.Record]:
    """Suggestions from hints made in the period, by hint: how many, how many confirmed, dismissed, still open."""
    where = Where.of(period, selection, category_column=None)
    return await conn.fetch(
        f"""
        SELECT hint, count(*)::int AS made,
               count(*) FILTER (WHERE decision = 'confirmed')::int AS confirmed,
               count(*) FILTER (WHERE decision = 'dismissed')::int AS dismissed,
               count(*) FILTER (WHERE decision IS NULL)::int AS open
          FROM suggestions WHERE {where.sql} GROUP BY 1 ORDER BY 1
        """,  # noqa: S608 - the filters are bind parameters
        *where.params,
    )
