"""Server-side sessions in the portal's own database: an opaque id in the cookie, sealed tokens in the row.

The cookie carries 32 random bytes (URL-safe); the table keeps only their SHA-256, so neither a copy of the table
nor a log line opens a session. Tokens, claims and the login's PKCE verifier are sealed with AES-GCM (the row's
id hash as associated data, so a sealed blob cannot be moved to another row). Sessions end server-side: after
`idle_s` unused, `max_s` after they began, or at logout.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.portal.domain.person import Person

TOUCH_EVERY = timedelta(seconds=60)
"""last_seen_at is written at most this often (every page would otherwise write a row)."""


def _now() -> datetime:
    return datetime.now(UTC)


def id_hash(raw_id: str) -> bytes:
    """What the table stores of a cookie's session id."""
    return hashlib.sha256(raw_id.encode()).digest()


class Sealer:
    """AES-256-GCM with a key derived from the configured secret."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crp-portal-session-v1").derive(
            secret.encode()
        )
        self._aead = AESGCM(key)
        self._tag_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crp-portal-tag-v1").derive(
            secret.encode()
        )

    def tag(self, *parts: str) -> str:
        """An HMAC-SHA256 (hex) of `parts` with a key of its own: proves the portal wrote them (the draft check)."""
        return hmac.new(self._tag_key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()

    def seal(self, data: dict[str, Any], aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, json.dumps(data, separators=(",", ":")).encode(), aad)

    def open(self, blob: bytes, aad: bytes) -> dict[str, Any]:
        return json.loads(self._aead.decrypt(blob[:12], blob[12:], aad))


@dataclass
class Session:
    """One browser's session: before login it only holds the login in progress; after it, the person and tokens."""

    raw_id: str
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    person: Person | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    """access_token, refresh_token, id_token, expires_at (epoch seconds of the access token)."""
    login: dict[str, Any] | None = None
    """state, nonce, code_verifier, next: the authorization request in progress."""
    data: dict[str, Any] = field(default_factory=dict)
    """Small page state (e.g. the last receipts shown), sealed like the rest."""

    @property
    def authenticated(self) -> bool:
        return self.person is not None and bool(self.tokens.get("access_token"))

    def sealed_content(self) -> dict[str, Any]:
        return {
            "person": self.person.to_dict() if self.person else None,
            "tokens": self.tokens,
            "login": self.login,
            "data": self.data,
        }


class SessionStore:
    """The portal_sessions table."""

    def __init__(self, pool: asyncpg.Pool, sealer: Sealer, *, idle_s: int, max_s: int) -> None:
        self._pool = pool
        self._sealer = sealer
        self.idle = timedelta(seconds=idle_s)
        self.max = timedelta(seconds=max_s)

    async def create(
        self,
        *,
        person: Person | None = None,
        tokens: dict[str, Any] | None = None,
        login: dict[str, Any] | None = None,
        lifetime: timedelta | None = None,
        data: dict[str, Any] | None = None,
    ) -> Session:
        """A new session with a fresh id and CSRF token (a login always gets a new one: no fixation)."""
        now = _now()
        session = Session(
            raw_id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + (lifetime or self.max),
            last_seen_at=now,
            person=person,
            tokens=tokens or {},
            login=login,
            data=data or {},
        )
        key = id_hash(session.raw_id)
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO portal_sessions (id_hash, csrf_token, subject, role, sealed, created_at, last_seen_at,"
                " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                key,
                session.csrf_token,
                person.subject if person else None,
                person.role if person else None,
                self._sealer.seal(session.sealed_content(), key),
                now,
                session.expires_at,
            )
        return session

    async def load(self, raw_id: str | None) -> Session | None:
        """The live session of a cookie's id; an idle or expired one is deleted and None returned."""
        if not raw_id or len(raw_id) > 100:
            return None
        key = id_hash(raw_id)
        now = _now()
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT csrf_token, sealed, last_seen_at, expires_at FROM portal_sessions WHERE id_hash = $1", key
            )
            if row is None:
                return None
            if now >= row["expires_at"] or now - row["last_seen_at"] >= self.idle:
                await conn.execute("DELETE FROM portal_sessions WHERE id_hash = $1", key)
                return None
            try:
                content = self._sealer.open(row["sealed"], key)
            except Exception:  # noqa: BLE001 - a key rotated or a row tampered with: the session is gone
                await conn.execute("DELETE FROM portal_sessions WHERE id_hash = $1", key)
                return None
            last_seen = row["last_seen_at"]
            if now - last_seen >= TOUCH_EVERY:
                await conn.execute("UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1", key, now)
                last_seen = now
        person = content.get("person")
        return Session(
            raw_id=raw_id,
            csrf_token=row["csrf_token"],
            expires_at=row["expires_at"],
            last_seen_at=last_seen,
            person=Person.from_dict(person) if person else None,
            tokens=content.get("tokens") or {},
            login=content.get("login"),
            data=content.get("data") or {},
        )

    async def save(self, session: Session) -> None:
        """Write the session's sealed content back (after a token refresh, or page state)."""
        key = id_hash(session.raw_id)
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE portal_sessions SET sealed = $2, last_seen_at = $3 WHERE id_hash = $1",
                key,
                self._sealer.seal(session.sealed_content(), key),
                _now(),
            )

    def tag(self, *parts: str) -> str:
        return self._sealer.tag(*parts)

    async def delete(self, raw_id: str) -> None:
        """End a session (logout, a failed refresh)."""
        async with self._pool.acquire() as conn:
            await conn.execute("DELETE FROM portal_sessions WHERE id_hash = $1", id_hash(raw_id))

    async def purge_expired(self) -> int:
        """Delete every session past its absolute or idle expiry; returns how many."""
        now = _now()
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM portal_sessions WHERE expires_at <= $1 OR last_seen_at <= $2", now, now - self.idle
            )
        return int(status.split()[-1])

    async def expire_now(self, raw_id: str) -> None:
        """Make a session idle-expired at once (tests of the expiry use it through the admin database)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1", id_hash(raw_id), _now() - self.idle
            )
