"""The identity provider, through authlib: discovery, authorization code + PKCE (S256), ID-token checks, refresh.

Only the standard flow: the portal is a confidential client (its secret goes to the token endpoint, never to the
browser), every authorization request carries a fresh state, nonce and S256 code challenge, and the ID token's
signature (the provider's JWKS), issuer, audience, expiry and nonce are checked before anyone is logged in.
"""

import asyncio
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import authlib.deprecate  # noqa: F401 - first: its import puts an "always" filter in front of ours
import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

with warnings.catch_warnings():
    # authlib 1.9 prefers httpx2 and warns when it falls back to httpx (what the rest of the platform uses).
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from shared.logging import get_logger

log = get_logger(__name__)

DISCOVERY_TTL_S = 3600.0
ALGORITHMS = ("RS256", "PS256", "ES256")


class LoginFailed(Exception):
    """The provider's answer cannot log anyone in (bad state, refused code, invalid ID token)."""


class RefreshFailed(Exception):
    """The refresh token no longer works: the person must log in again."""


@dataclass(frozen=True)
class LoginRequest:
    """What the session keeps while the person is at the provider."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcProvider:
    """One OpenID provider, found from its issuer's discovery document."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scope: str = "openid profile email",
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self._timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: KeySet | None = None
        self._lock = asyncio.Lock()

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            timeout=self._timeout,
        )

    async def metadata(self) -> dict[str, Any]:
        """The discovery document (cached an hour)."""
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL_S:
            async with self._lock:
                if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL_S:
                    url = self.issuer + "/.well-known/openid-configuration"
                    async with httpx.AsyncClient(timeout=self._timeout) as http:
                        response = await http.get(url)
                        response.raise_for_status()
                        document = response.json()
                    if document.get("issuer", "").rstrip("/") != self.issuer:
                        raise LoginFailed("the discovery document names another issuer")
                    self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    async def ready(self) -> bool:
        """True when the discovery document can be had."""
        try:
            await self.metadata()
            return True
        except Exception:  # noqa: BLE001 - readiness: any failure is "down"
            return False

    async def _keys(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            metadata = await self.metadata()
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(metadata["jwks_uri"])
                response.raise_for_status()
            self._jwks = KeySet.import_key_set(response.json())
        return self._jwks

    async def start_login(self) -> LoginRequest:
        """A new authorization request: state, nonce and PKCE verifier are fresh random values."""
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        return LoginRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish_login(self, *, code: str, code_verifier: str, nonce: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Exchange the code (with the PKCE verifier); returns the token set and the checked ID-token claims."""
        metadata = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=self.redirect_uri,
                )
        except (OAuthError, httpx.HTTPError) as error:
            raise LoginFailed(f"the token endpoint refused the code: {type(error).__name__}") from None
        id_token = token.get("id_token")
        if not id_token:
            raise LoginFailed("no ID token in the answer")
        claims = await self.verify_id_token(id_token, nonce=nonce)
        return dict(token), claims

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
        try:
            try:
                decoded = jwt.decode(id_token, await self._keys(), algorithms=list(ALGORITHMS))
            except (JoseError, ValueError):
                # A key rotated at the provider: fetch the key set once more.
                decoded = jwt.decode(id_token, await self._keys(refresh=True), algorithms=list(ALGORITHMS))
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
            }
            if nonce is not None:
                options["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(leeway=30, **options).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise LoginFailed(f"the ID token does not hold: {type(error).__name__}") from None
        return dict(decoded.claims)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new token set from the refresh token; RefreshFailed when the provider says no."""
        metadata = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.refresh_token(metadata["token_endpoint"], refresh_token=refresh_token)
        except (OAuthError, httpx.HTTPError) as error:
            raise RefreshFailed(type(error).__name__) from None
        if not token.get("access_token"):
            raise RefreshFailed("no access token")
        return dict(token)

    async def end_session_url(self, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where the browser goes to end the provider's session too (None when the provider has no such endpoint)."""
        try:
            metadata = await self.metadata()
        except Exception:  # noqa: BLE001 - the portal's own session is gone already; the provider's stays
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(params)}"


def token_expiry(token: dict[str, Any]) -> float:
    """Epoch seconds when the access token expires (authlib sets expires_at; else from expires_in)."""
    if token.get("expires_at"):
        return float(token["expires_at"])
    return time.time() + float(token.get("expires_in") or 60)
