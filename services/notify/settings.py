"""The notify service's settings: the shared model with this service's defaults."""

from shared.settings import Settings


class NotifySettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "notify"
    http_port: int = 8003
