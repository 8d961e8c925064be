-- Issue 16: the recipients a hint suggested (referral.suggested.v1) and the consultant's decision on each
-- (referral.suggestion_decided.v1), counted per hint. Codes and ids only. A row a decision begins (read before its
-- suggestion) takes the decision's day until the suggestion arrives.
-- depends: stats_0001_projections
CREATE TABLE suggestions (
    suggestion_id     text        PRIMARY KEY,
    concern_id        text        NOT NULL,
    hint              text        NOT NULL,
    target            text        NOT NULL,
    department_id     text        NOT NULL,
    municipality_code text        NOT NULL,
    day               date        NOT NULL,
    suggested_at      timestamptz,
    decision          text,
    decided_at        timestamptz
);
CREATE INDEX suggestions_day ON suggestions (day, municipality_code, department_id);
