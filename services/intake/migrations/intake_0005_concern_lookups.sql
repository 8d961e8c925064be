-- Following a concern: receipt codes are already unique (concerns_receipt_code_key, from intake_0002), so a
-- look-up by code is one index probe. These serve "my concerns" (a client's own reports) and ops's list, newest
-- first; the search by external ref uses concerns_external_ref (intake_0002).
CREATE INDEX IF NOT EXISTS concerns_reporter_received
    ON concerns (reporter_client_id, received_at DESC, id DESC) WHERE reporter_client_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS concerns_received ON concerns (received_at DESC, id DESC);
