"""The subject key: a keyed pseudonym of organisation + tenancy (or department)."""

import hashlib
import hmac


def subject_key(secret: str, organisation_id: str, *, tenancy_id: str | None, department_id: str) -> str:
    """HMAC-SHA256 of the tenancy (or the department when no tenancy is named), as 32 hex chars.

    The same tenancy always gives the same key, so all its events land on one partition in order;
    without the secret the key cannot be linked back to the tenancy.
    """
    if tenancy_id:
        subject = f"tenancy\x1f{organisation_id}\x1f{tenancy_id.strip().casefold()}"
    else:
        subject = f"department\x1f{organisation_id}\x1f{department_id}"
    digest = hmac.new(secret.encode(), subject.encode(), hashlib.sha256).hexdigest()
    return "sk_" + digest[:32]
