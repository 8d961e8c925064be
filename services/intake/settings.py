"""The intake service's settings: the shared model with this service's defaults."""

import base64
import binascii
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from shared.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parent


class IntakeSettings(Settings):
    """Read once at start from the environment (see README, "Configuration")."""

    service_name: str = "intake"
    http_port: int = 8001
    master_key: SecretStr = Field(
        ..., description="Base64 of 32 random bytes: the key that wraps every concern's data key (AES-256-GCM)."
    )
    observed_at_skew_s: float = Field(300.0, ge=0, description="How far in the future observed_at may lie (clocks).")
    outbox_relay_enabled: bool = Field(True, description="Run the outbox relay in this process.")
    outbox_batch_size: int = Field(500, ge=1, le=5000)
    outbox_poll_interval_s: float = Field(1.0, gt=0, description="Polling fallback when no NOTIFY arrives.")
    outbox_retention_hours: float = Field(72.0, gt=0, description="How long published outbox rows are kept.")
    receipt_lookup_failures_per_minute: int = Field(
        10, ge=1, description="Failed receipt-code look-ups a client earns back per minute (against guessing)."
    )
    receipt_lookup_failures_burst: int = Field(
        10, ge=1, description="Failed receipt-code look-ups a client may make in a row before 429."
    )
    reference_file: Path = SERVICE_DIR / "reference" / "organisations.yaml"
    municipalities_file: Path = SERVICE_DIR / "reference" / "municipalities.csv"
    reference_data_max_body_bytes: int = Field(
        768 * 1024, ge=1024, le=900 * 1024, description="Largest PUT /v1/reference-data body (one Kafka record)."
    )
    reference_sync_interval_s: float = Field(
        5.0, gt=0, description="How often intake checks that the stored reference directory is published and loaded."
    )
    mappings_dir: Path = SERVICE_DIR / "mappings"
    guidance_dir: Path = SERVICE_DIR / "guidance"

    @field_validator("master_key")
    @classmethod
    def _master_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("MASTER_KEY must be base64") from None
        if len(raw) != 32:
            raise ValueError("MASTER_KEY must decode to 32 bytes")
        return value

    @property
    def master_key_bytes(self) -> bytes:
        """The 32 raw bytes of the master key."""
        return base64.b64decode(self.master_key.get_secret_value())
