"""The routing service's settings: the shared model with this service's defaults."""

from shared.settings import Settings


class RoutingSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "routing"
    http_port: int = 8002
