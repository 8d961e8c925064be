"""The stats service's settings: the shared model with this service's defaults."""

from pydantic import Field

from shared.settings import Settings


class StatsSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "stats"
    http_port: int = 8004
    cost_eviction_avoided_dkk: int = Field(500_000, ge=0, description="Estimated cost of one eviction (DKK).")
    cost_dwelling_restored_dkk: int = Field(500_000, ge=0, description="Estimated cost of restoring a dwelling.")
    business_metrics_interval_s: float = Field(15.0, gt=0, description="How often the business gauges refresh.")
    min_cell_count: int = Field(
        5, ge=1, le=100, description="Counts from 1 to this minus one are withheld in every statistic (README)."
    )
