"""The routing service's settings: the shared model with this service's defaults."""

from pathlib import Path

from pydantic import Field

from shared.settings import Settings

DEFAULT_RULES = Path(__file__).parent / "rules" / "default.yaml"


class RoutingSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "routing"
    http_port: int = 8002
    rules_file: Path = Field(DEFAULT_RULES, description="Rules document stored as version 1 when none is stored.")
    consume_batch_size: int = Field(200, ge=1, le=5000, description="Concern events applied per transaction.")
    consume_batch_wait_s: float = Field(
        0.05, gt=0, description="The longest a take of events waits to fill before it is applied (a flood fills it)."
    )
    repeat_window_subjects: int = Field(
        200_000, ge=1, description="Subjects a worker keeps in its repeat-windows table (least recently used go)."
    )
    relay_batch_size: int = Field(
        2000, ge=1, le=5000, description="Outbox rows per relay batch (fewer, larger batches keep up with floods)."
    )
    relay_linger_s: float = Field(0.02, ge=0, description="How long the relay waits after a NOTIFY for more rows.")
    relay_poll_interval_s: float = Field(1.0, gt=0, description="Outbox poll when no NOTIFY arrives.")
    scheduler_interval_s: float = Field(5.0, gt=0, description="How often every worker checks the clocks.")
    session_timeout_s: float = Field(10.0, ge=6, description="Kafka group session timeout of the Faust consumer.")
    lag_interval_s: float = Field(10.0, gt=0, description="How often the consumer-lag gauge is refreshed.")
