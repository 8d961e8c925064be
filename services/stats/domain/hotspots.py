"""Hotspots: departments whose concern rate stands out from their organisation's baseline, and their trend.

Method (stated in every answer): indirect standardisation. A department's expected count is its tenancies
times the organisation's rate (all its departments' concerns per tenancy in the period); the rate ratio
observed / expected gets a 95 % interval from Byar's approximation to the exact Poisson interval of the
observed count. A department is a hotspot when the interval's lower bound exceeds 1. The trend compares
the period with the one of equal length before it: conditional on both counts' sum, the share in the recent
period is binomial; its 95 % Wilson interval above 0.5 means rising, below 0.5 falling, else stable.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
"""Two-sided 95 % standard normal quantile."""

METHOD = {
    "baseline": "the organisation's concerns per tenancy in the period (all its departments)",
    "measure": "rate ratio = observed concerns / expected concerns (indirect standardisation)",
    "interval": "95 % interval of the observed count by Byar's approximation to the exact Poisson interval",
    "hotspot_when": "the lower bound of the rate ratio's interval is above 1",
    "trend": "the period against the previous period of equal length; 95 % Wilson interval of the recent "
    "period's share of both periods' concerns: rising when above 0.5, falling when below 0.5, else stable",
}
METHOD_DA = (
    "Metode: forventet antal = afdelingens lejemål × organisationens rate i perioden. Rate-ratio = observeret / "
    "forventet med 95 %-konfidensinterval (Byars tilnærmelse til det eksakte Poisson-interval). En afdeling er et "
    "hotspot, når intervallets nedre grænse er over 1. Tendens: perioden mod den lige så lange periode før; "
    "stigende, når 95 %-intervallet (Wilson) for periodens andel af begge perioders henvendelser ligger over 50 %."
)


def byar_interval(observed: int, z: float = Z95) -> tuple[float, float]:
    """Approximate two-sided interval of a Poisson mean given an observed count (Byar)."""
    if observed < 0:
        raise ValueError("observed must not be negative")
    lower = 0.0
    if observed > 0:
        lower = observed * (1 - 1 / (9 * observed) - z / (3 * math.sqrt(observed))) ** 3
    upper_base = observed + 1
    upper = upper_base * (1 - 1 / (9 * upper_base) + z / (3 * math.sqrt(upper_base))) ** 3
    return max(lower, 0.0), upper


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(centre - half, 0.0), min(centre + half, 1.0)


@dataclass(frozen=True)
class Trend:
    """The period's concerns against the previous period's."""

    recent: int
    previous: int
    direction: str
    share_lower: float
    share_upper: float

    def as_dict(self) -> dict:
        """JSON shape of the trend."""
        ratio = round(self.recent / self.previous, 3) if self.previous else None
        return {
            "previous_concerns": self.previous,
            "ratio": ratio,
            "direction": self.direction,
            "recent_share_interval": [round(self.share_lower, 4), round(self.share_upper, 4)],
        }


def trend(recent: int, previous: int) -> Trend:
    """Rising, falling or stable, by the Wilson interval of the recent period's share."""
    lower, upper = wilson_interval(recent, recent + previous)
    direction = "rising" if lower > 0.5 else "falling" if upper < 0.5 else "stable"
    return Trend(recent, previous, direction, lower, upper)


@dataclass(frozen=True)
class Assessment:
    """One department's rate against the baseline."""

    observed: int
    expected: float
    rate_ratio: float | None
    lower: float | None
    upper: float | None

    @property
    def hotspot(self) -> bool:
        """Whether the department stands out: the interval lies above 1."""
        return self.lower is not None and self.lower > 1.0


def assess(observed: int, tenancies: int, baseline_rate: float) -> Assessment:
    """Observed against expected = tenancies x baseline rate (concerns per tenancy)."""
    expected = tenancies * baseline_rate
    if expected <= 0:
        return Assessment(observed, expected, None, None, None)
    low, high = byar_interval(observed)
    return Assessment(observed, expected, observed / expected, low / expected, high / expected)
