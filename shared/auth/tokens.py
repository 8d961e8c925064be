"""Opaque bearer tokens and their hashes."""

import hashlib
import secrets

TOKEN_PREFIX = "crp_"  # noqa: S105 - a prefix, not a secret


def new_token() -> str:
    """A fresh token with 256 bits of entropy; shown once, never stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of the token: enough for a random 256-bit secret, and what the registry stores."""
    return hashlib.sha256(token.encode()).hexdigest()
