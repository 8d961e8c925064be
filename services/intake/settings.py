"""The intake service's settings: the shared model with this service's defaults."""

from shared.settings import Settings


class IntakeSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "intake"
    http_port: int = 8001
