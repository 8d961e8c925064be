-- The resident's consent registered after the report (POST /v1/concerns/{id}/consent): `consent` then holds the
-- answer, these say who registered it and when (the audit log has the row too). Null: only the report's answer.
ALTER TABLE concerns ADD COLUMN IF NOT EXISTS consent_registered_by text;
ALTER TABLE concerns ADD COLUMN IF NOT EXISTS consent_registered_at timestamptz;
