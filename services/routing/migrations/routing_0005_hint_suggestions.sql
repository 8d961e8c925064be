-- Issue 16: a hint other than a danger or a child (hoarding, dementia, mental health, substance abuse, eviction)
-- suggests its category's recipients where the rules give them no referral; the consultant confirms (a referral
-- is created, or an open one to that recipient takes it over) or dismisses it, once. No personal data: codes, ids.
-- depends: routing_0004_underretning
CREATE TABLE referral_suggestions (
    suggestion_id      text PRIMARY KEY,
    concern_id         text        NOT NULL,
    hint               text        NOT NULL,
    target             text        NOT NULL,
    recipient_id       text        NOT NULL,
    task               text        NOT NULL,
    legal_basis        text        NOT NULL,
    disclosure         text        NOT NULL,
    suggested_function text,
    rule_id            text        NOT NULL,
    organisation_id    text        NOT NULL,
    department_id      text        NOT NULL,
    municipality_code  text        NOT NULL,
    rules_version      integer     NOT NULL,
    created_at         timestamptz NOT NULL,
    status             text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
    decided_at         timestamptz,
    decided_by         text,
    decided_by_role    text,
    reason             text,
    referral_id        text,
    CHECK ((status = 'open') = (decided_at IS NULL))
);
CREATE INDEX referral_suggestions_concern ON referral_suggestions (concern_id);
