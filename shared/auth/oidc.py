"""A person's access token (a JWT of the OpenID Connect provider), verified against the issuer's published keys.

The keys come from the issuer's discovery document (`jwks_uri`) and are cached. A token signed with a key id the
cache does not hold makes the verifier fetch the key set again, at most once per `refetch_interval_s` (a forged
kid cannot make it hammer the provider); a cache older than `max_key_age_s` is refreshed on the next token. Only
RS256 and ES256 signatures are accepted (never `none` or HS*, whose "secret" an attacker would take from the
public key), with `iss` equal to the issuer, `aud` containing the audience and `exp`/`nbf`/`iat` within a leeway.
"""

import asyncio
import base64
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import ECKey, KeySet, RSAKey
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.auth.people import principal_of
from shared.auth.principal import Principal
from shared.logging import get_logger

log = get_logger(__name__)

ALGORITHMS = {"RS256": RSAKey, "ES256": ECKey}
"""The only signatures a person's token may carry, with the key type each needs."""
ACCESS_TOKEN_TYPES = frozenset({None, "JWT", "at+jwt", "application/at+jwt"})
CACHED_TOKENS = 2048


class TokenRefused(Exception):
    """The token is not a valid access token of this issuer for this audience (401); the message says why."""


class ProviderUnavailable(Exception):
    """The provider's keys cannot be fetched at all (503); `retry_after` seconds before it is worth trying again."""

    def __init__(self, retry_after: int):
        super().__init__("The identity provider's keys cannot be fetched; try again shortly.")
        self.retry_after = retry_after


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts (header.payload.signature), not an API client's `crp_` token."""
    return token.count(".") == 2 and not token.startswith("crp_")


class OidcVerifier:
    """Verifies persons' access tokens of one issuer for one audience; `verify` gives the person's Principal."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        leeway_s: int = 30,
        refetch_interval_s: float = 30.0,
        max_key_age_s: float = 3600.0,
        timeout_s: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.leeway_s = leeway_s
        self.refetch_interval_s = refetch_interval_s
        self.max_key_age_s = max_key_age_s
        self._clock = clock
        self._monotonic = monotonic
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport, follow_redirects=False)
        self._jwks_uri: str | None = None
        self._keys: dict[str, RSAKey | ECKey] = {}
        self._fetched_at: float | None = None  # monotonic time of the last fetch attempt
        self._loaded_at: float | None = None  # ... and of the last one that succeeded
        self._refetched_at: float | None = None  # ... and of the last one an unknown kid asked for
        self._lock = asyncio.Lock()
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def verify(self, token: str) -> Principal:
        """The person's Principal; TokenRefused (401), PersonNotAllowed (403) or ProviderUnavailable (503)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._verified.get(digest)
        if cached is not None and cached[1] > self._clock() - self.leeway_s:
            return cached[0]
        header = _header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenRefused(f"Token algorithm {alg!r} is not accepted (RS256 or ES256 only).")
        if header.get("typ") not in ACCESS_TOKEN_TYPES:
            raise TokenRefused("Not an access token.")
        key = await self._key(kid if isinstance(kid, str) else None)
        if not isinstance(key, ALGORITHMS[alg]):
            raise TokenRefused(f"Token algorithm {alg} does not fit its key.")
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
            self._claims_registry().validate(claims)
        except ExpiredTokenError:
            raise TokenRefused("Token expired.") from None
        except MissingClaimError as error:
            raise TokenRefused(f"Token lacks the claims {error.claim}.") from None
        except ClaimError as error:
            raise TokenRefused(f"Token claim {error.claim} not valid (wrong issuer, audience or time).") from None
        except JoseError as error:
            raise TokenRefused(f"Token not valid ({error.error}).") from None
        if claims.get("typ") not in (None, "Bearer"):
            raise TokenRefused("Not an access token.")
        principal = principal_of(claims)
        self._remember(digest, principal, float(claims["exp"]))
        return principal

    def _claims_registry(self) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.leeway_s,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def _remember(self, digest: str, principal: Principal, exp: float) -> None:
        """Keep a verified token's Principal until it expires (the rate limit and the route both ask)."""
        self._verified[digest] = (principal, exp)
        self._verified.move_to_end(digest)
        while len(self._verified) > CACHED_TOKENS:
            self._verified.popitem(last=False)

    async def _key(self, kid: str | None) -> RSAKey | ECKey:
        """The signing key of `kid`, fetching the key set when it is unknown, stale or never loaded."""
        if kid is None:
            raise TokenRefused("Token names no key (kid).")
        if kid not in self._keys or self._stale():
            async with self._lock:  # one fetch at a time; the others then find its keys
                if self._stale() and self._since(self._fetched_at) >= self.refetch_interval_s:
                    await self._refresh()
                elif kid not in self._keys and self._since(self._refetched_at) >= self.refetch_interval_s:
                    self._refetched_at = self._monotonic()  # an unknown kid: once per interval, whoever sends it
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._loaded_at is None:
            raise ProviderUnavailable(max(1, int(self.refetch_interval_s - self._since(self._fetched_at)) + 1))
        if key is None:
            raise TokenRefused("Token signed with an unknown key.")
        return key

    def _stale(self) -> bool:
        return self._since(self._loaded_at) > self.max_key_age_s

    def _since(self, moment: float | None) -> float:
        return float("inf") if moment is None else self._monotonic() - moment

    async def _refresh(self) -> None:
        """Fetch discovery (once) and the key set; on failure keep the keys cached (stale ones still verify)."""
        self._fetched_at = self._monotonic()
        try:
            async for attempt in AsyncRetrying(
                wait=wait_exponential_jitter(multiplier=0.2, max=1.0),
                stop=stop_after_attempt(3),
                retry=retry_if_exception_type((httpx.TransportError, httpx.HTTPStatusError)),
                reraise=True,
            ):
                with attempt:
                    keys = await self._fetch_keys()
        except (httpx.HTTPError, ValueError, JoseError) as error:
            log.warning("oidc_keys_unavailable", issuer=self.issuer, error=type(error).__name__, kept=len(self._keys))
            return
        self._keys = keys
        self._loaded_at = self._monotonic()
        log.info("oidc_keys_loaded", issuer=self.issuer, keys=len(keys))

    async def _fetch_keys(self) -> dict[str, RSAKey | ECKey]:
        if self._jwks_uri is None:
            discovery = await self._get_json(self.issuer + "/.well-known/openid-configuration")
            if discovery.get("issuer", "").rstrip("/") != self.issuer or not isinstance(discovery.get("jwks_uri"), str):
                raise ValueError("discovery document of another issuer, or without jwks_uri")
            self._jwks_uri = discovery["jwks_uri"]
        document = await self._get_json(self._jwks_uri)
        signing = [k for k in document.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        signing = [k for k in signing if k.get("kty") in ("RSA", "EC") and k.get("alg", "RS256") in ALGORITHMS]
        keys: dict[str, RSAKey | ECKey] = {}
        for key in KeySet.import_key_set({"keys": signing}) if signing else []:
            if isinstance(key, (RSAKey, ECKey)) and key.kid:
                keys[key.kid] = key
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body


def _header(token: str) -> dict[str, Any]:
    """The token's JOSE header, unverified (it only picks the key and algorithm)."""
    encoded = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused("Token is not a JWT.") from None
    if not isinstance(header, dict):
        raise TokenRefused("Token is not a JWT.")
    return header


def verifier_from(settings: object) -> OidcVerifier | None:
    """The service's verifier when `oidc_issuer` is set (OIDC_ISSUER), else None: persons' tokens are off."""
    issuer = getattr(settings, "oidc_issuer", None)
    if not issuer:
        return None
    return OidcVerifier(issuer, getattr(settings, "oidc_audience", "crp-api"))
