"""Generated secrets of one local stack: created once, stored in <home>/secrets.json (0600), reused."""

import base64
import json
import secrets
from pathlib import Path

from deploy.config import SERVICES, write_private
from deploy.keycloak import USERNAMES, person_secret_key
from shared.auth.tokens import new_token
from shared.kafka import security


def _password() -> str:
    """A random password that needs no escaping in URLs or config files."""
    return secrets.token_urlsafe(24)


def _fresh() -> dict[str, str]:
    """A complete set of new secrets."""
    values = {
        "postgres_password": _password(),
        "SUBJECT_KEY_SECRET": secrets.token_urlsafe(32),
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # notify's admin service account, to read reporter contacts from intake (registered by `up`).
        "NOTIFY_INTAKE_TOKEN": new_token(),
    }
    values |= {f"{service}_password": _password() for service in (*SERVICES, "portal")}
    # Keycloak: its master realm's bootstrap admin, the portal's client secret, and each demo person's password
    # (also in credentials.json under "people"); the portal's session cookies are signed with its own key.
    values |= {"keycloak_admin_password": _password(), "PORTAL_OIDC_CLIENT_SECRET": secrets.token_urlsafe(32)}
    values |= {"PORTAL_SESSION_SECRET": secrets.token_urlsafe(32)}
    values |= {person_secret_key(username): _password() for username in USERNAMES}
    # Kafka (SASL/SCRAM) principals: the operator's, the controller's, one per service and housing system.
    principals = [*security.principals(), security.CONTROLLER_PRINCIPAL]
    values |= {f"kafka_{principal}_password": _password() for principal in principals}
    return values


def load_or_create(path: Path) -> dict[str, str]:
    """The stack's secrets; missing ones are generated and stored, existing ones never change."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    merged = _fresh() | stored
    if merged != stored:
        write_private(path, json.dumps(merged, indent=2) + "\n")
    return merged
