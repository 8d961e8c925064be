"""Response bodies of the stats API, so that its OpenAPI document says what each answer holds."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


WITHHELD = "null when withheld: fewer than the minimum count, or withheld so that a total cannot give one back."
Count = Annotated[int | None, Field(description=WITHHELD)]
"""A count that the small-count rule may withhold (README, "Small counts")."""


class SuppressionOut(_Body):
    """The small-count rule behind every withheld (null) count of the answer."""

    min_count: int
    shown_as: str = Field(description='How the dashboard shows a withheld count, e.g. "< 5".')
    rule: str


class PeriodOut(_Body):
    """A period of whole days (Danish calendar), both ends included."""

    from_: date = Field(alias="from")
    to: date
    days: int


class FiltersOut(_Body):
    """The filters applied: the caller's scope narrowed by the query."""

    municipalities: list[str] | None
    departments: list[str] | None
    category: str | None


class MunicipalityOut(_Body):
    code: str
    name: str


class DepartmentOut(_Body):
    id: str
    name: str
    municipality_code: str
    tenancies: int | None


class ScopeOut(_Body):
    """What the caller may see."""

    role: str
    municipalities: list[MunicipalityOut]
    departments: list[DepartmentOut]
    categories: list[str] = Field(description="The categories the caller may see and filter by.")
    suppression: SuppressionOut


class DayCount(_Body):
    day: date
    concerns: Count


class DepartmentCount(_Body):
    department_id: str
    name: str
    municipality_code: str
    concerns: Count
    tenancies: int | None
    rate_per_100_tenancies: float | None


class MunicipalityCount(_Body):
    municipality_code: str
    name: str
    concerns: Count


class SeverityCount(_Body):
    severity: str
    concerns: Count


class ConcernSection(_Body):
    total: Count
    by_day: list[DayCount]
    by_department: list[DepartmentCount]
    by_municipality: list[MunicipalityCount]
    by_severity: list[SeverityCount]


class CategoryCount(_Body):
    category: str
    concerns: Count


class RepeatTenancies(_Body):
    tenancies: Count
    concerns: Count
    definition: str


class TargetStatusCount(_Body):
    target: str
    status: str
    referrals: Count


class SlaCounts(_Body):
    breached_referrals: Count
    breaches: Count
    escalations: Count


class ReferralSection(_Body):
    total: Count
    by_target_and_status: list[TargetStatusCount]
    sla: SlaCounts


class OutcomeCount(_Body):
    outcome: str
    referrals: Count
    concerns: Count


class CostItem(_Body):
    outcome: str
    concerns: Count
    unit_cost_dkk: int | float
    amount_dkk: int | float | None = Field(description=WITHHELD)


class CostsAvoided(_Body):
    """An estimate, labelled as such."""

    estimate: bool
    label: str
    currency: str
    total_dkk: int | float | None = Field(description=WITHHELD)
    items: list[CostItem]


class DeliveryCounts(_Body):
    channel: str
    delivered: Count
    failed: Count
    retrying: Count
    failed_attempts: Count
    median_latency_ms: float | None


class OverviewOut(_Body):
    """Everything the dashboard shows for a period and filters."""

    period: PeriodOut
    filters: FiltersOut
    concerns: ConcernSection
    categories: list[CategoryCount]
    repeat_tenancies: RepeatTenancies
    referrals: ReferralSection
    outcomes: list[OutcomeCount]
    costs_avoided: CostsAvoided
    notifications: list[DeliveryCounts] | None = Field(description="None when filtered by department or category.")
    comparison: dict[str, Any] | None = Field(None, description="With compare_with_other_municipalities only.")
    suppression: SuppressionOut


class Hours(_Body):
    median: float | None
    p90: float | None


class ResponseGroup(_Body):
    municipality: str | None = Field(None, description="With group_by=municipality.")
    target: str | None = Field(None, description="With group_by=target.")
    referrals: Count
    acknowledged: Count
    completed: Count
    breached: Count
    hours_to_acknowledgement: Hours
    hours_to_completion: Hours


class UnderretningGroup(_Body):
    municipality_code: str
    municipality_name: str
    department_id: str
    department_name: str
    underretninger: Count
    confirmed: Count = Field(description="Receipts the municipality confirmed (acknowledged the referral). " + WITHHELD)
    breached: Count = Field(description="Underretninger past a clock (acknowledgement or receipt). " + WITHHELD)
    receipt_hours_median: float | None = Field(description="Median hours to the confirmed receipt; null when few.")


class UnderretningerOut(_Body):
    """Underretninger (barnets lov) to the municipalities' children and youth entries, and their receipt times."""

    period: PeriodOut
    filters: FiltersOut
    definition: str
    groups: list[UnderretningGroup]
    suppression: SuppressionOut


class SuggestionGroup(_Body):
    hint: str
    made: Count = Field(description="Suggestions the hint made (a recipient its category would add). " + WITHHELD)
    confirmed: Count = Field(description="Confirmed by the consultant (a referral). " + WITHHELD)
    dismissed: Count = Field(description="Dismissed by the consultant. " + WITHHELD)
    open: Count = Field(description="Not yet decided. " + WITHHELD)


class SuggestionsOut(_Body):
    """Suggestions from the hints intake's triage read, and the consultants' decisions on them, per hint."""

    period: PeriodOut
    filters: FiltersOut
    definition: str
    groups: list[SuggestionGroup]
    suppression: SuppressionOut


class ResponseTimesOut(_Body):
    """Response times by municipality or recipient type."""

    period: PeriodOut
    filters: FiltersOut
    group_by: Literal["municipality", "target"]
    definition: str
    groups: list[ResponseGroup]
    comparison: dict[str, Any] | None = Field(None, description="With compare_with_other_municipalities only.")
    suppression: SuppressionOut


class Trend(_Body):
    previous_concerns: Count
    ratio: float | None
    direction: str
    recent_share_interval: list[float] | None = Field(description="null when either period's count is withheld.")


class DepartmentRate(_Body):
    department_id: str
    name: str
    municipality_code: str
    tenancies: int
    concerns: Count
    rate_per_100_tenancies: float | None
    expected_concerns: float | None = Field(description="null when the organisation's baseline is withheld.")
    rate_ratio: float | None
    rate_ratio_interval: list[float] | None
    hotspot: bool
    trend: Trend


class Baseline(_Body):
    organisation_id: str
    name: str
    concerns: Count
    tenancies: int
    rate_per_100_tenancies: float | None


class HotspotsOut(_Body):
    """Departments against their organisation's baseline."""

    period: PeriodOut
    previous_period: PeriodOut
    filters: FiltersOut
    method: dict[str, str]
    method_da: str
    baselines: list[Baseline]
    departments: list[DepartmentRate]
    hotspots: list[str]
    suppression: SuppressionOut
