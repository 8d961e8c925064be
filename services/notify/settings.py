"""The notify service's settings: the shared model with this service's defaults."""

import base64
import binascii
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from shared.settings import Settings

DATA_DIR = Path(__file__).parent / "data"
DAY_S = 24 * 60 * 60.0


class NotifySettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "notify"
    http_port: int = 8003

    master_key: SecretStr = Field(
        ..., description="Base64 of 32 bytes; notify derives the key that encrypts webhook signing secrets from it."
    )
    allow_private_webhook_targets: bool | None = Field(
        None,
        description="Allow http:// and loopback/private webhook targets; defaults to LOCAL_DEV. Link-local never.",
    )

    # Links in webhook bodies, feed items and e-mails point back at the public API.
    public_routing_url: str = Field("http://127.0.0.1:8002", description="Base URL of routing's API, for links.")
    public_intake_url: str = Field("http://127.0.0.1:8001", description="Base URL of intake's API, for links.")

    # Reporter receipts read the contact from intake's reporter-contact endpoint with an admin token.
    intake_url: str = Field("http://127.0.0.1:8001", description="Where notify reads reporter contacts.")
    intake_token: SecretStr | None = Field(None, description="Admin token of notify's service account in intake.")
    intake_timeout_s: float = Field(10.0, gt=0)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_s: float = Field(15.0, gt=0)
    email_from: str = "Bekymringsplatformen <ikke-svar@example.dk>"

    webhook_connect_timeout_s: float = Field(5.0, gt=0)
    webhook_timeout_s: float = Field(15.0, gt=0, description="Whole attempt, including a slowly dripping answer.")

    delivery_workers: int = Field(32, ge=1, description="Deliveries in flight at once in this process.")
    per_target_concurrency: int = Field(4, ge=1, description="In flight at once to one subscription or recipient.")
    delivery_lease_s: float = Field(60.0, gt=0, description="A claimed delivery returns to the pool after this.")
    delivery_poll_s: float = Field(0.5, gt=0)
    retry_base_s: float = Field(30.0, gt=0, description="First retry within this; doubles per attempt.")
    retry_max_delay_s: float = Field(6 * 3600.0, gt=0, description="Longest wait between two attempts.")
    retry_window_s: float = Field(3 * DAY_S, gt=0, description="A delivery is given up (dead) after this.")
    retry_after_max_s: float = Field(DAY_S, gt=0, description="Cap on a receiver's Retry-After.")
    subscription_disable_after_s: float = Field(
        5 * DAY_S, gt=0, description="A subscription failing without a success this long is disabled."
    )
    backlog_refresh_s: float = Field(15.0, gt=0)
    feed_page_max: int = Field(500, ge=1)

    @field_validator("master_key")
    @classmethod
    def _thirty_two_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(raw) != 32:
            raise ValueError("must be base64 of 32 bytes")
        return value

    @property
    def private_targets_allowed(self) -> bool:
        """Whether webhooks may go to http:// and loopback or private addresses (local development only)."""
        return self.local_dev if self.allow_private_webhook_targets is None else self.allow_private_webhook_targets
