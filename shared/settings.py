"""One settings model for every service, read once from the environment at start."""

import os
import tempfile
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration common to all services; a service subclasses it for its own fields."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = Field("unknown", description="Name used in logs, metrics and CloudEvent sources.")
    environment: Literal["local", "test", "production"] = "local"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    database_url: SecretStr = Field(..., description="postgresql:// URL of this service's own database.")
    database_pool_min: int = Field(0, ge=0, description="0: the service starts even while PostgreSQL is away.")
    database_pool_max: int = Field(10, ge=1)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Read by every Kafka client from the environment (shared/kafka/config.py, security_config); here so that
    # they are documented and checked like the rest.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_username: str | None = Field(None, description="This service's Kafka principal (with SASL).")
    kafka_password: SecretStr | None = Field(None, description="Its SCRAM password (with SASL).")
    topic_partitions: int = Field(6, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    topic_prefix: str = Field(
        "", pattern=r"^[a-z0-9.-]*$", description="Prepended to every topic name: isolates tests and tenants."
    )
    subject_key_secret: SecretStr = Field(..., min_length=16, description="HMAC key of the subject key.")
    log_level: str = "INFO"
    local_dev: bool = Field(False, description="Allows local-only conveniences (e.g. loopback webhooks).")
    state_dir: str = Field(
        default_factory=lambda: os.path.join(tempfile.gettempdir(), "concern-platform"),
        description="Local scratch state (Faust's data directory); nothing in it must survive a restart.",
    )
    readiness_timeout_s: float = Field(2.0, gt=0)
    stream_buffer_maxsize: int = Field(
        16384,
        ge=64,
        description="Events a Faust agent may hold unprocessed. Faust stops fetching at 80% of it and, with every "
        "partition stopped, sleeps a whole second: the buffer must hold more than a second of work.",
    )
    api_clients_load_timeout_s: float = Field(30.0, gt=0)
    rate_limit_per_minute: int = Field(
        1_200,
        ge=0,
        description="Requests per API client per minute on this service (429 above); 0: no limit. 20/s sustained: "
        "far above any real client (an organisation's reports, a dashboard page, a feed polled each second).",
    )
    rate_limit_burst: int | None = Field(
        200, ge=1, description="Largest burst per client (token bucket size); None: one minute's worth."
    )
    failed_auth_per_minute: int = Field(
        10,
        ge=1,
        description="Failed authentications (a token that is not valid) earned back per minute, per source address "
        "and per client a revoked or expired token names (429 above): a guesser always meets it.",
    )
    failed_auth_burst: int = Field(20, ge=1, description="Failed authentications in a row before 429.")
    forwarded_allow_ips: str = Field(
        "",
        description="Proxies (comma-separated addresses) whose X-Forwarded-For names the source address; empty: "
        "none, the peer is the source (else any local process could claim a fresh address per guess).",
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted (413 above).")
    oidc_issuer: str | None = Field(
        None,
        pattern=r"^(https?://\S+)?$",
        description="The OpenID Connect provider whose access tokens name a person (JWKS from its discovery "
        "document); unset: only API clients' tokens are accepted.",
    )
    oidc_audience: str = Field("crp-api", min_length=1, description="What a person's access token's `aud` must hold.")

    def topic(self, name: str) -> str:
        """The physical name of a logical topic of DESIGN.md (with this deployment's prefix)."""
        return self.topic_prefix + name

    @property
    def consumer_group(self) -> str:
        """This service's own Kafka consumer group."""
        return f"{self.service_name}-service"

    def kafka_group(self, name: str | None = None) -> str:
        """The Kafka group id of `name` (default: the service's consumer group), with the topic prefix.

        Metric labels and inbox rows keep the plain name; only the broker-side group is prefixed, so
        deployments (and tests) on other prefixes never share a group or trigger each other's rebalances.
        """
        return self.topic_prefix + (name or self.consumer_group)

    @property
    def event_source(self) -> str:
        """The CloudEvents `source` of events this service emits."""
        return f"/services/{self.service_name}"
