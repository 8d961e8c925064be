"""The demo people of the test stack and their real access tokens, for the portal tier.

`people()` reads the stack's credentials.json ("people": username -> password, role, scope). `access_token(user)`
walks Keycloak's real login page for the portal's client (authorization code + PKCE, tests/support/oidc_login.py)
and returns the person's JWT, for the security tests that send tokens straight to the services' APIs.
"""

import json
import os
from pathlib import Path

from tests.support import oidc_login

ROOT = Path(__file__).resolve().parents[3]


def credentials_file() -> Path:
    return Path(os.environ.get("CREDENTIALS_FILE") or ROOT / ".local" / "test" / "credentials.json")


def _credentials() -> dict:
    stored = json.loads(credentials_file().read_text())
    return {"clients": stored, "people": {}} if isinstance(stored, list) else stored


def people() -> dict[str, dict]:
    """The demo people's passwords and roles from the stack's credentials.json ("people")."""
    found = _credentials().get("people") or {}
    if not found:
        raise LookupError(f"no demo people in {credentials_file()}: the stack has no identity provider (yet)")
    return found


def api_client(role: str, **scope: object) -> dict:
    """A demo API client of the stack (token, role, scope): the first of `role` whose scope has `scope`."""
    for client in _credentials().get("clients") or []:
        if client.get("role") == role and all(client.get(k) == v for k, v in scope.items()):
            return client
    raise LookupError(f"no demo API client of role {role} with {scope} in {credentials_file()}")


async def access_token(username: str, password: str | None = None) -> str:
    """The person's access token (a JWT for crp-api), through Keycloak's login page."""
    env = oidc_login.oidc_env()
    if env is None:
        raise LookupError("the test stack's stack.env has no OIDC settings")
    env = {**env, "CREDENTIALS_FILE": str(credentials_file())}
    return await oidc_login.access_token(env, username, password)
