-- intake's own projection of referral-events: which recipient may see a concern, and its history.
CREATE TABLE IF NOT EXISTS referrals (
    referral_id       text PRIMARY KEY,
    concern_id        text NOT NULL,
    target            text NOT NULL,
    recipient_id      text NOT NULL,
    department_id     text NOT NULL,
    municipality_code char(4) NOT NULL,
    categories        text[] NOT NULL,
    disclosure        text NOT NULL,
    legal_basis       text NOT NULL,
    task              text NOT NULL,
    status            text NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS referrals_concern ON referrals (concern_id);

CREATE TABLE IF NOT EXISTS referral_history (
    event_id    text PRIMARY KEY,
    referral_id text NOT NULL,
    concern_id  text NOT NULL,
    event       text NOT NULL,
    from_status text,
    to_status   text,
    reason      text,
    outcome     text,
    at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS referral_history_concern ON referral_history (concern_id, at);

-- Every read of personal details (and every erasure): who, in which role, on what basis, when.
CREATE TABLE IF NOT EXISTS audit_log (
    id         bigserial PRIMARY KEY,
    concern_id uuid NOT NULL,
    client_id  text NOT NULL,
    role       text NOT NULL,
    action     text NOT NULL,
    basis      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_concern ON audit_log (concern_id, at);
