-- Stats projections. Every table here is rebuilt from the topics by `python -m services.stats rebuild`
-- (built in a shadow schema with the same definitions, then swapped in); keep columns order-independent.

-- One row per reported concern. Erasure removes the tenancy pseudonym (subject_key) and the repeat
-- flag; the anonymous counts stay.
CREATE TABLE concern_facts (
    concern_id        text        PRIMARY KEY,
    organisation_id   text        NOT NULL,
    department_id     text        NOT NULL,
    municipality_code text        NOT NULL,
    subject_key       text,
    severity          text        NOT NULL,
    categories        text[]      NOT NULL,
    reported_at       timestamptz NOT NULL,
    day               date        NOT NULL,
    repeated          boolean     NOT NULL DEFAULT false,
    erased            boolean     NOT NULL DEFAULT false
);
CREATE INDEX concern_facts_subject ON concern_facts (subject_key, reported_at) WHERE subject_key IS NOT NULL;
CREATE INDEX concern_facts_repeated ON concern_facts (day) WHERE repeated;

-- Concerns erased, so a report replayed after its erasure is stored without its pseudonym.
CREATE TABLE erasures (
    concern_id text        PRIMARY KEY,
    erased_at  timestamptz NOT NULL
);

-- Daily rollups of concern_facts: what the overview and the hotspots read.
CREATE TABLE concern_counts (
    day               date    NOT NULL,
    department_id     text    NOT NULL,
    municipality_code text    NOT NULL,
    severity          text    NOT NULL,
    concerns          integer NOT NULL,
    PRIMARY KEY (day, department_id, municipality_code, severity)
);
CREATE TABLE concern_category_counts (
    day               date    NOT NULL,
    department_id     text    NOT NULL,
    municipality_code text    NOT NULL,
    category          text    NOT NULL,
    severity          text    NOT NULL,
    concerns          integer NOT NULL,
    PRIMARY KEY (day, department_id, municipality_code, category, severity)
);

-- One row per referral; filled by referral.created.v1 and folded status changes, in any order.
CREATE TABLE referrals (
    referral_id       text        PRIMARY KEY,
    concern_id        text        NOT NULL,
    target            text        NOT NULL,
    recipient_id      text,
    department_id     text        NOT NULL,
    municipality_code text        NOT NULL,
    categories        text[],
    severity          text,
    urgent            boolean,
    created_at        timestamptz,
    day               date,
    status            text        NOT NULL DEFAULT 'requested',
    status_changed_at timestamptz,
    acknowledged_at   timestamptz,
    completed_at      timestamptz,
    outcome           text,
    sla_breaches      integer     NOT NULL DEFAULT 0,
    escalations       integer     NOT NULL DEFAULT 0
);
CREATE INDEX referrals_day ON referrals (day, municipality_code, department_id);

-- One row per delivery of notify: delivered, retrying or finally failed.
CREATE TABLE deliveries (
    delivery_id       text        PRIMARY KEY,
    channel           text        NOT NULL,
    municipality_code text,
    day               date        NOT NULL,
    delivered_at      timestamptz,
    latency_ms        integer,
    failed_attempts   integer     NOT NULL DEFAULT 0,
    final_failed      boolean     NOT NULL DEFAULT false
);
CREATE INDEX deliveries_day ON deliveries (day);
