-- The reference directory intake owns, as one versioned snapshot (the departments tables above are derived from it).
-- file_version: the version of the reference file last stored, so a start stores the file only when it changed
-- (a change made with PUT /v1/reference-data is kept). published_version: the version last acknowledged by the
-- broker on the reference-data topic; while it differs from version, intake keeps publishing.
CREATE TABLE IF NOT EXISTS reference_directory (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version           char(64) NOT NULL,
    content           jsonb NOT NULL,
    file_version      char(64),
    updated_by        text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    published_version char(64)
);
