"""The portal's settings: read once at start from the environment (README, "Configuration")."""

from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    """The portal needs no Kafka: its own database (sessions only), the provider, the four services' addresses."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "portal"
    environment: str = "local"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    database_url: SecretStr = Field(..., description="postgresql:// URL of the portal's own database (sessions).")
    database_pool_min: int = Field(0, ge=0)
    database_pool_max: int = Field(10, ge=1)
    readiness_timeout_s: float = Field(2.0, gt=0)

    portal_url: str = Field("http://127.0.0.1:8000", description="The origin people use; redirect URI base.")
    oidc_issuer: str = Field(..., description="The provider's issuer; its discovery document gives the endpoints.")
    oidc_audience: str = Field("crp-api", description="The audience the services expect in access tokens.")
    portal_oidc_client_id: str = "portal"
    portal_oidc_client_secret: SecretStr = Field(..., description="The portal's confidential-client secret.")
    portal_oidc_scope: str = "openid profile email"
    portal_session_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="Key material for sealing the tokens in the session table; default: derived from the client "
        "secret (rotating either logs everyone out).",
    )
    portal_session_idle_s: int = Field(30 * 60, ge=60, description="A session unused this long ends.")
    portal_session_max_s: int = Field(10 * 3600, ge=300, description="A session ends this long after login.")
    portal_login_timeout_s: int = Field(10 * 60, ge=60, description="How long a started login may take.")
    portal_cookie_name: str = Field("portal_session", pattern=r"^[A-Za-z0-9_-]+$")

    intake_url: str = "http://127.0.0.1:8001"
    routing_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    stats_url: str = "http://127.0.0.1:8004"
    service_timeout_s: float = Field(10.0, gt=0, description="How long a call to one of the services may take.")

    @property
    def base_url(self) -> str:
        """PORTAL_URL without a trailing slash."""
        return self.portal_url.rstrip("/")

    @property
    def redirect_uri(self) -> str:
        """Where the provider sends the person back with the code."""
        return self.base_url + "/auth/callback"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry Secure when people reach the portal over https."""
        return urlsplit(self.portal_url).scheme == "https"

    @property
    def issuer_origin(self) -> str:
        """scheme://host[:port] of the provider, for the CSP's form-action."""
        parts = urlsplit(self.oidc_issuer)
        return f"{parts.scheme}://{parts.netloc}"
