-- The portal's one table: server-side sessions. The cookie holds an opaque random id; only its SHA-256 is stored,
-- so a copy of this table opens no session. Tokens and claims are sealed (AES-GCM) in `sealed`, never in clear.
CREATE TABLE IF NOT EXISTS portal_sessions (
    id_hash bytea PRIMARY KEY,
    csrf_token text NOT NULL,
    subject text,
    role text,
    sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_sessions_expires_at ON portal_sessions (expires_at);
