-- Routing's own tables: rules versions, referrals and their moves, repeat windows, the outbox.

CREATE TABLE rules_versions (
    version     integer     PRIMARY KEY CHECK (version >= 1),
    document    jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL
);

CREATE TABLE referrals (
    referral_id           text        PRIMARY KEY,
    concern_id            text        NOT NULL,
    subject_key           text        NOT NULL,
    organisation_id       text        NOT NULL,
    department_id         text        NOT NULL,
    municipality_code     text        NOT NULL,
    target                text        NOT NULL,
    recipient_id          text        NOT NULL,
    categories            text[]      NOT NULL,
    severity              text        NOT NULL,
    urgent                boolean     NOT NULL,
    repeated              boolean     NOT NULL,
    legal_basis           text        NOT NULL,
    disclosure            text        NOT NULL,
    task                  text        NOT NULL,
    suggested_function    text,
    rules_version         integer     NOT NULL,
    rule_id               text        NOT NULL,
    concern_basis         text        NOT NULL,
    status                text        NOT NULL,
    ack_due_at            timestamptz NOT NULL,
    escalate_at           timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    replaces_referral_id  text        REFERENCES referrals (referral_id),
    transitions           integer     NOT NULL DEFAULT 0,
    outcome               text,
    reject_reason         text,
    breached_at           timestamptz,
    escalated_at          timestamptz,
    escalation_contact_id text,
    concern_erased_at     timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referrals_concern ON referrals (concern_id);
CREATE INDEX referrals_municipality ON referrals (municipality_code, created_at);
CREATE INDEX referrals_department ON referrals (department_id, created_at);
CREATE INDEX referrals_created ON referrals (created_at, referral_id);
-- The scheduler's work queues: unacknowledged referrals whose reminder or escalation is still to come.
CREATE INDEX referrals_breach_due ON referrals (ack_due_at) WHERE status = 'requested' AND breached_at IS NULL;
CREATE INDEX referrals_escalation_due ON referrals (escalate_at) WHERE status = 'requested' AND escalated_at IS NULL;

CREATE TABLE referral_transitions (
    referral_id      text        NOT NULL REFERENCES referrals (referral_id),
    seq              integer     NOT NULL,
    from_status      text        NOT NULL,
    to_status        text        NOT NULL,
    reason           text,
    outcome          text,
    note             text,
    changed_by       text        NOT NULL,
    changed_by_role  text        NOT NULL,
    changed_at       timestamptz NOT NULL,
    rerouted_to      text,
    PRIMARY KEY (referral_id, seq)
);

-- Source of truth of the repeat rule: which concerns about a subject arrived when.
CREATE TABLE subject_concerns (
    subject_key  text        NOT NULL,
    concern_id   text        NOT NULL,
    reported_at  timestamptz NOT NULL,
    PRIMARY KEY (subject_key, concern_id)
);
CREATE INDEX subject_concerns_window ON subject_concerns (subject_key, reported_at);

-- Transactional outbox: events written with the effect, published by the relay (see README of routing).
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    topic         text        NOT NULL,
    key           text        NOT NULL,
    event_id      text        NOT NULL UNIQUE,
    event_type    text        NOT NULL,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
