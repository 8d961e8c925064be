"""The stats service's settings: the shared model with this service's defaults."""

from shared.settings import Settings


class StatsSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "stats"
    http_port: int = 8004
