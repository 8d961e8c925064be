"""A demo person's real access token from the stack's Keycloak, through its login page as a browser would
(authorization code with PKCE S256 for the portal's client), for tests that call the services as that person.

Needs the stack's stack.env: OIDC_ISSUER, PORTAL_OIDC_CLIENT_ID, PORTAL_OIDC_CLIENT_SECRET, PORTAL_URL and
CREDENTIALS_FILE (whose "people" hold the demo persons' passwords).
"""

import base64
import hashlib
import json
import os
import secrets
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx


class LoginFailed(AssertionError):
    """Keycloak did not hand out a code or a token for the person."""


def oidc_env() -> dict[str, str] | None:
    """The stack's OIDC settings, or None when the stack has no identity provider (yet)."""
    names = ("OIDC_ISSUER", "PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_CLIENT_SECRET", "PORTAL_URL", "CREDENTIALS_FILE")
    values = {name: os.environ.get(name, "") for name in names}
    return values if all(values.values()) else None


def people(env: dict[str, str]) -> dict[str, dict]:
    """The demo persons of credentials.json: {"kommune-0316": {"password": ..., "role": ...}, ...}."""
    return json.loads(Path(env["CREDENTIALS_FILE"]).read_text())["people"]


class LoginForm(HTMLParser):
    """The action of Keycloak's login form (id kc-form-login)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and values.get("id") == "kc-form-login":
            self.action = values.get("action")


def pkce_pair() -> tuple[str, str]:
    """A PKCE S256 code verifier and its challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def access_token(env: dict[str, str], username: str, password: str | None = None) -> str:
    """The person's access token (a JWT for audience crp-api), after logging in with their password."""
    password = password if password is not None else people(env)[username]["password"]
    issuer = env["OIDC_ISSUER"]
    redirect_uri = env["PORTAL_URL"].rstrip("/") + "/auth/callback"
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    async with httpx.AsyncClient(timeout=20, follow_redirects=False) as http:
        discovery = (await http.get(f"{issuer}/.well-known/openid-configuration")).raise_for_status().json()
        page = await http.get(
            discovery["authorization_endpoint"],
            params={
                "client_id": env["PORTAL_OIDC_CLIENT_ID"],
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        form = LoginForm()
        form.feed(page.text)
        if page.status_code != 200 or not form.action:
            raise LoginFailed(f"no login page for {username}: {page.status_code}")
        # Keycloak's login cookies are Secure; a browser sends them to http://127.0.0.1 (a trustworthy origin),
        # httpx only over https: so they are sent by hand, as the browser would.
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in http.cookies.jar)
        answer = await http.post(
            form.action,
            data={"username": username, "password": password, "credentialId": ""},
            headers={"Cookie": cookies},
        )
        location = answer.headers.get("location", "")
        query = parse_qs(urlsplit(location).query)
        if answer.status_code != 302 or not location.startswith(redirect_uri) or query.get("state") != [state]:
            raise LoginFailed(f"no code for {username}: {answer.status_code}")
        tokens = await http.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": env["PORTAL_OIDC_CLIENT_ID"],
                "client_secret": env["PORTAL_OIDC_CLIENT_SECRET"],
            },
        )
        if tokens.status_code != 200:
            raise LoginFailed(f"no token for {username}: {tokens.status_code} {tokens.text[:200]}")
        return tokens.json()["access_token"]
